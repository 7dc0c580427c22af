"""How clients are shown to operators, and what the admin clients API accepts (SPEC §9).

The view carries ``keyFingerprint`` (the first 8 hex characters of the key's hash) so an
operator can tell keys apart, and never the hash or a key; the raw key appears once, in
``IssuedClient``, when it is made. The values' rules (name, group id, participants, key) live
in ``admin.clients``, which the CLI calls too; the request models state the same rules as
constraints of what is sent, so the API document carries them and a request breaking one is
refused before any work. What only the database can tell (a name or group id in use) is the
services' alone.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import ConfigDict, Field
from pydantic_core import PydanticUndefined

from otc_framework.storage.models import Client, Role, Tier
from otc_framework.web.bodies import NO_SPACE, VISIBLE, AnswerModel, QueryBool, RequestModel
from otc_framework.web.pages import CURSOR_DESCRIPTION, CURSOR_PATTERN

FINGERPRINT_CHARS = 8
# The rules ``admin.clients`` applies, here so the request models can state them too.
MAX_NAME = 200
MAX_ID = 128  # group_id and counterparty_id columns
MAX_PARTICIPANTS = 50
MIN_KEY, MAX_KEY = 24, 256
GROUP_ID = re.compile(r"[0-9]+(-[0-9]+)?@g\.us")
GROUP_PATTERN = f"^{GROUP_ID.pattern}$"

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
    active: QueryBool | None = Field(None, description="Only active (true) or inactive (false) clients")
    search: str | None = Field(None, max_length=200, description="Part of the name, any case")
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, pattern=CURSOR_PATTERN, description=CURSOR_DESCRIPTION)


def _name(default: Any = PydanticUndefined, **extra: Any) -> Any:
    return Field(default, min_length=1, max_length=MAX_NAME, pattern=VISIBLE, description=_NAME, **extra)


_GROUP_ID = Field(None, max_length=MAX_ID, pattern=GROUP_PATTERN, description=_GROUP)
_PARTICIPANT = Annotated[str, Field(min_length=1, max_length=MAX_ID, pattern=VISIBLE)]
_KEY = f"{MIN_KEY} to {MAX_KEY} characters without spaces, not in use"


def _api_key(description: str) -> Any:
    return Field(None, min_length=MIN_KEY, max_length=MAX_KEY, pattern=NO_SPACE, description=description)


def _counterparty_id(description: str) -> Any:
    return Field(None, min_length=1, max_length=MAX_ID, pattern=VISIBLE, description=description)


class NewClient(RequestModel):
    name: str = _name()
    tier: Tier
    role: Role = Role.CLIENT
    group_id: str | None = _GROUP_ID
    counterparty_id: str | None = _counterparty_id("The client's id at the settlement desk")
    bot_participants: list[_PARTICIPANT] = Field(default_factory=list, max_length=MAX_PARTICIPANTS,
                                                 description=_PARTICIPANTS)
    api_key: str | None = _api_key(f"{_KEY}; generated when absent")


def _no_default(schema: dict[str, Any]) -> None:
    schema.pop("default", None)


def _omissible(description: str | None = None, **constraints: Any) -> Any:
    """A patch field that may be left out but takes no null: its ``None`` default only marks
    it unset, so the API document shows no default."""
    return Field(None, description=description, json_schema_extra=_no_default, **constraints)


class ClientPatch(RequestModel):
    """Fields left out stay as they are (read with ``model_dump(exclude_unset=True)``); at
    least one is given."""

    model_config = ConfigDict(json_schema_extra={"minProperties": 1})

    name: str = _name(None, json_schema_extra=_no_default)
    tier: Tier = _omissible()
    role: Role = _omissible()
    group_id: str | None = _GROUP_ID
    counterparty_id: str | None = _counterparty_id("The client's id at the settlement desk; null clears it")
    bot_participants: list[_PARTICIPANT] = _omissible(_PARTICIPANTS, max_length=MAX_PARTICIPANTS)


class RotateKey(RequestModel):
    api_key: str | None = _api_key(f"The new key: {_KEY}; generated when absent")
