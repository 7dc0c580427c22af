"""How clients are shown to operators, and what the admin clients API accepts (SPEC §9).

The view carries ``keyFingerprint`` (the first 8 hex characters of the key's hash) so an
operator can tell keys apart, and never the hash or a key; the raw key appears once, in
``IssuedClient``, when it is made. Request models check types; the values' rules (name,
group id, participants, key) live in ``admin.clients``, which the CLI calls too.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import Field

from otc_framework.storage.models import Client, Role, Tier
from otc_framework.web.bodies import AnswerModel, RequestModel

FINGERPRINT_CHARS = 8

_NAME = "Unique, at most 200 characters; surrounding spaces are dropped"
_GROUP = "The client's WhatsApp group id (ends in `@g.us`), unique across clients; null clears it"
_PARTICIPANTS = "Participant JIDs allowed to trade in the group (at most 50); empty means anyone in it"


class ClientView(AnswerModel):
    id: UUID
    name: str
    tier: Tier
    role: Role
    active: bool
    group_id: str | None
    counterparty_id: str | None
    bot_participants: list[str]
    key_fingerprint: str = Field(description="First 8 hex characters of the key's SHA-256: tells keys apart")
    key_rotated_at: datetime
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, client: Client) -> ClientView:
        return cls(
            id=client.id, name=client.name, tier=client.tier, role=client.role, active=client.active,
            group_id=client.group_id, counterparty_id=client.counterparty_id,
            bot_participants=list(client.bot_participants), key_fingerprint=client.api_key_hash[:FINGERPRINT_CHARS],
            key_rotated_at=client.key_rotated_at, created_at=client.created_at, updated_at=client.updated_at,
        )


def client_view(client: Client) -> dict[str, Any]:
    """The view as JSON-ready data (camelCase): what the admin feed and the audit trail carry."""
    return ClientView.of(client).model_dump(mode="json", by_alias=True)


class IssuedClient(ClientView):
    api_key: str = Field(description="The raw API key: shown this once, never again")

    @classmethod
    def issued(cls, client: Client, api_key: str) -> IssuedClient:
        return cls(**ClientView.of(client).model_dump(), api_key=api_key)


class ClientPage(AnswerModel):
    items: list[ClientView]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next (older) page; null at the end")


class ClientQuery(RequestModel):
    active: bool | None = Field(None, description="Only active (true) or inactive (false) clients")
    search: str | None = Field(None, max_length=200, description="Part of the name, any case")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=200)


class NewClient(RequestModel):
    name: str = Field(description=_NAME)
    tier: Tier
    role: Role = Role.CLIENT
    group_id: str | None = Field(None, description=_GROUP)
    counterparty_id: str | None = Field(None, description="The client's id at the settlement desk")
    bot_participants: list[str] = Field(default_factory=list, description=_PARTICIPANTS)
    api_key: str | None = Field(None, description="At least 24 characters, not in use; generated when absent")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _omissible(description: str | None = None) -> Any:
    """A patch field that may be left out but takes no null: its ``None`` default only marks
    it unset, so the API document shows no default."""
    return Field(None, description=description, json_schema_extra=_no_default)


class ClientPatch(RequestModel):
    """Fields left out stay as they are (read with ``model_dump(exclude_unset=True)``)."""

    name: str = _omissible(_NAME)
    tier: Tier = _omissible()
    role: Role = _omissible()
    group_id: str | None = Field(None, description=_GROUP)
    counterparty_id: str | None = Field(None, description="The client's id at the settlement desk; null clears it")
    bot_participants: list[str] = _omissible(_PARTICIPANTS)


class RotateKey(RequestModel):
    api_key: str | None = Field(None, description="The new key (at least 24 characters, not in use); generated when absent")
