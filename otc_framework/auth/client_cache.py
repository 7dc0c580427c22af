"""The client record every authenticated request is checked against, cached in the store.

A request reads ``client:{id}`` (in the same round trip as the reference data); on a miss it
loads the row and caches it only if no one cached it meanwhile (``set_if_absent``). Writers
re-read the committed row and overwrite the cache (``refresh_client``) after committing, so
a reader that loaded the old row before the commit can never put it back over the new one.
The TTL bounds what two writers racing on one client could leave behind.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from otc_framework.storage.models import Client, Role, Tier
from otc_framework.storage.store import Store

CACHE_TTL_SECONDS = 300
# Records parsed from the store's text, by that text, oldest dropped first. The text is read
# from the store on every request (that is what revokes at once); only turning the same text
# into the same record again is spared.
PARSED_SIZE = 4096


def client_key(client_id: str) -> str:
    return f"client:{client_id}"


@dataclass(frozen=True, slots=True)
class ClientRecord:
    id: str
    name: str
    tier: Tier
    role: Role
    active: bool
    group_id: str | None
    api_key_hash: str
    # Whole seconds, as JWT ``iat`` is: a token issued before this second is refused.
    key_rotated_at: int

    def to_json(self) -> str:
        return json.dumps(
            {"id": self.id, "name": self.name, "tier": self.tier, "role": self.role, "active": self.active,
             "groupId": self.group_id, "apiKeyHash": self.api_key_hash, "keyRotatedAt": self.key_rotated_at},
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> ClientRecord:
        record = _PARSED.get(text)
        if record is None:
            data: dict[str, Any] = json.loads(text)
            record = cls(data["id"], data["name"], Tier(data["tier"]), Role(data["role"]), data["active"],
                         data["groupId"], data["apiKeyHash"], data["keyRotatedAt"])
            if len(_PARSED) >= PARSED_SIZE:
                del _PARSED[next(iter(_PARSED))]
            _PARSED[text] = record
        return record

    @classmethod
    def from_row(cls, row: Client) -> ClientRecord:
        return cls(str(row.id), row.name, Tier(row.tier), Role(row.role), row.active, row.group_id,
                   row.api_key_hash, int(row.key_rotated_at.timestamp()))


_PARSED: dict[str, ClientRecord] = {}
# The text each client's record last had in the store, as this worker read or wrote it: what
# a quote prices from before the store confirms it is still current (``sessions.routes``).
_LAST_TEXT: dict[str, str] = {}


def last_text(client_id: str) -> str | None:
    return _LAST_TEXT.get(client_id)


def _seen(client_id: str, text: str) -> None:
    if client_id not in _LAST_TEXT and len(_LAST_TEXT) >= PARSED_SIZE:
        del _LAST_TEXT[next(iter(_LAST_TEXT))]
    _LAST_TEXT[client_id] = text


async def client_record(store: Store, client_id: str, cached: str | None) -> ClientRecord | None:
    """The record of ``client_id`` given what the store held (``cached``); ``None`` if the
    client does not exist."""
    if cached is not None:
        _seen(client_id, cached)
        return ClientRecord.from_json(cached)
    row = await Client.get_or_none(id=client_id)
    if row is None:
        return None
    record = ClientRecord.from_row(row)
    text = record.to_json()
    if await store.set_if_absent(client_key(client_id), text, ttl=CACHE_TTL_SECONDS):
        _seen(client_id, text)
    return record


async def refresh_client(store: Store, client_id: str) -> None:
    """Call after committing a change to a client: the next request anywhere sees it."""
    row = await Client.get_or_none(id=client_id)
    if row is None:
        await store.delete(client_key(client_id))
    else:
        await store.set(client_key(client_id), ClientRecord.from_row(row).to_json(), ttl=CACHE_TTL_SECONDS)
