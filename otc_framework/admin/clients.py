"""Clients: creating them, changing them, and the changes that revoke their tokens at once.

The raw API key leaves this module once, in the return value; only its hash is stored, and
the audit row records who did what to whom, never the key (rotation records the key's
fingerprint). Every change is written with its audit row in one transaction, the row locked
so the "before" is true; after commit the cached client record is refreshed, so the next
request in any worker sees it (SPEC §7: a new tier prices the next quote, a deactivation or
rotation refuses live tokens), and the admin feed is told.

Decisions where the spec is silent:

- Names are unique ignoring case ("Acme" and "ACME" would be one client to an operator).
- A group id is a WhatsApp group id (``…@g.us``) and belongs to one client at most: two
  clients on one group would make the bot trade for the wrong one.
- A change that changes nothing (deactivating an inactive client, activating an active one,
  a patch repeating current values) answers the client as it is and writes, audits and
  announces nothing: a double click leaves one audit row.
- An admin may not deactivate itself or drop its own admin role (``refuse_self_lockout``):
  it would lock the operator out mid-task. Another admin can.
- A given key must be 24 to 256 characters without spaces (login takes at most 256) and not
  in use, the client's current key included.
- Participant JIDs are stripped and deduplicated, order kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.timezone import now
from tortoise.transactions import in_transaction

from otc_framework.admin.access import Actor, Backoffice
from otc_framework.admin.client_schemas import (
    GROUP_ID,
    MAX_ID,
    MAX_KEY,
    MAX_NAME,
    MAX_PARTICIPANTS,
    MIN_KEY,
    client_view,
)
from otc_framework.admin.feed import EventType
from otc_framework.audit import record
from otc_framework.auth.api_keys import generate_api_key, hash_api_key
from otc_framework.auth.client_cache import refresh_client
from otc_framework.errors import Forbidden, NotFound, ValidationFailed
from otc_framework.storage.models import Client, Role, Tier
from otc_framework.web.pages import newest_first

PATCHABLE = ("name", "tier", "role", "group_id", "counterparty_id", "bot_participants")
# Names and group ids are checked before they are written; on PostgreSQL the writers that may
# claim one take this transaction-scoped advisory lock first, so two cannot both pass the
# check (SQLite runs one transaction at a time anyway).
_CLAIM_LOCK = 0x6F74635F636C6E  # "otc_cln"


@dataclass(frozen=True, slots=True)
class ClientWithKey:
    client: Client
    api_key: str


async def create_client(
    actor: Actor,
    name: str,
    tier: Tier,
    *,
    role: Role = Role.CLIENT,
    group_id: str | None = None,
    counterparty_id: str | None = None,
    bot_participants: list[str] | None = None,
    api_key: str | None = None,
    office: Backoffice | None = None,
) -> ClientWithKey:
    """A new client and its raw key (generated when not given). Without ``office`` (the demo,
    the benchmark and ``otc client create`` make clients before any app runs) no event is sent."""
    values = _cleaned({"name": name, "tier": tier, "role": role, "group_id": group_id,
                       "counterparty_id": counterparty_id, "bot_participants": bot_participants or []})
    raw_key = _cleaned_key(api_key) if api_key is not None else generate_api_key()
    async with in_transaction() as conn:
        await _check_claims(conn, None, values)
        key_hash = await _unused_key_hash(conn, raw_key)
        client = await Client.create(**values, api_key_hash=key_hash, using_db=conn)
        after = client_view(client)
        await record("client.create", **actor.audit(), client_id=client.id,
                     detail={"before": {}, "after": _audited(after)}, using_db=conn)
    if office is not None:
        office.feed.emit(EventType.CLIENT_CHANGED, {"action": "client.create", "client": after})
    return ClientWithKey(client, raw_key)


async def update_client(office: Backoffice, actor: Actor, client_id: str, changes: dict[str, Any]) -> Client:
    """Apply ``changes`` (any of ``PATCHABLE``; None clears ``group_id`` or ``counterparty_id``)."""
    if not changes:
        raise ValidationFailed("body: give at least one field to change", field="body")
    values = _cleaned(changes)
    key = _client_key(client_id)
    async with in_transaction() as conn:
        client = await _locked(conn, key)
        moved = {f: v for f, v in values.items() if v != getattr(client, f)}
        if not moved:
            return client
        await _check_claims(conn, key, moved)
        before = client_view(client)
        client.update_from_dict(moved)
        await client.save(using_db=conn, update_fields=[*moved, "updated_at"])
        await _record_change(conn, "client.update", actor, client, before)
    await _announce(office, "client.update", client)
    return client


async def set_client_active(office: Backoffice, actor: Actor, client_id: str, active: bool) -> Client:
    key = _client_key(client_id)
    async with in_transaction() as conn:
        client = await _locked(conn, key)
        if client.active == active:
            return client
        before = client_view(client)
        client.active = active
        await client.save(using_db=conn, update_fields=["active", "updated_at"])
        action = "client.activate" if active else "client.deactivate"
        await _record_change(conn, action, actor, client, before)
    await _announce(office, action, client)
    return client


async def rotate_client_key(
    office: Backoffice, actor: Actor, client_id: str, api_key: str | None = None
) -> ClientWithKey:
    """A new key; the old key stops logging in and every token minted before now is refused."""
    raw_key = _cleaned_key(api_key) if api_key is not None else generate_api_key()
    key = _client_key(client_id)
    async with in_transaction() as conn:
        client = await _locked(conn, key)
        before = client_view(client)
        client.api_key_hash = await _unused_key_hash(conn, raw_key)
        client.key_rotated_at = now()
        await client.save(using_db=conn, update_fields=["api_key_hash", "key_rotated_at", "updated_at"])
        await _record_change(conn, "client.rotate_key", actor, client, before)
    await _announce(office, "client.rotate_key", client)
    return ClientWithKey(client, raw_key)


async def list_clients(
    active: bool | None = None, search: str | None = None, limit: int = 50, cursor: str | None = None
) -> tuple[list[Client], str | None]:
    """A page of clients, newest first, and the next page's cursor."""
    query = Client.all()
    if active is not None:
        query = query.filter(active=active)
    if search and search.strip():
        query = query.filter(name__icontains=search.strip())
    return await newest_first(query, limit, cursor)


async def get_client(client_id: str) -> Client:
    client = await Client.get_or_none(id=_client_key(client_id))
    if client is None:
        raise NotFound("no such client")
    return client


def refuse_self_lockout(caller_id: str, client_id: str, *, active: bool | None = None, role: Role | None = None) -> None:
    """Refuse an admin deactivating itself or dropping its own admin role (FORBIDDEN)."""
    try:
        itself = UUID(client_id) == UUID(caller_id)
    except ValueError:
        return
    if itself and active is False:
        raise Forbidden("an admin cannot deactivate itself; another admin can")
    if itself and role is not None and role is not Role.ADMIN:
        raise Forbidden("an admin cannot remove its own admin role; another admin can")


def _client_key(client_id: str) -> UUID:
    try:
        return UUID(client_id)
    except ValueError:
        raise NotFound("no such client") from None


async def _locked(conn: BaseDBAsyncClient, key: UUID) -> Client:
    client = await Client.filter(id=key).using_db(conn).select_for_update().first()
    if client is None:
        raise NotFound("no such client")
    return client


async def _record_change(conn: BaseDBAsyncClient, action: str, actor: Actor, client: Client,
                         before: dict[str, Any]) -> None:
    after = client_view(client)
    changed = [k for k in _audited(after) if after[k] != before[k]]
    await record(action, **actor.audit(), client_id=client.id, using_db=conn,
                 detail={"before": {k: before[k] for k in changed}, "after": {k: after[k] for k in changed}})


def _audited(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k not in ("id", "createdAt", "updatedAt")}


async def _announce(office: Backoffice, action: str, client: Client) -> None:
    await refresh_client(office.store, str(client.id))
    office.feed.emit(EventType.CLIENT_CHANGED, {"action": action, "client": client_view(client)})


async def _check_claims(conn: BaseDBAsyncClient, client_id: UUID | None, values: dict[str, Any]) -> None:
    """Refuse a name or group id another client holds."""
    name, group_id = values.get("name"), values.get("group_id")
    if name is None and group_id is None:
        return
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT pg_advisory_xact_lock($1)", [_CLAIM_LOCK])
    others = Client.all().using_db(conn)
    if client_id is not None:
        others = others.exclude(id=client_id)
    if name is not None and await others.filter(name__iexact=name).exists():
        raise ValidationFailed(f"name: a client named {name!r} exists", field="name")
    if group_id is not None and await others.filter(group_id=group_id).exists():
        raise ValidationFailed("groupId: the group belongs to another client", field="groupId")


async def _unused_key_hash(conn: BaseDBAsyncClient, raw_key: str) -> str:
    key_hash = hash_api_key(raw_key)
    if await Client.filter(api_key_hash=key_hash).using_db(conn).exists():
        raise ValidationFailed("apiKey: already in use; choose another", field="apiKey")
    return key_hash


def _cleaned(changes: dict[str, Any]) -> dict[str, Any]:
    """``changes`` with every value checked and normalised; VALIDATION_ERROR on the first bad one."""
    cleaners = {"name": _name, "tier": _tier, "role": _role, "group_id": _group_id,
                "counterparty_id": _counterparty_id, "bot_participants": _participants}
    unknown = [f for f in changes if f not in cleaners]
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: not a field of a client one may change", field=unknown[0])
    return {field: cleaners[field](value) for field, value in changes.items()}


def _name(value: Any) -> str:
    name = value.strip() if isinstance(value, str) else ""
    if not name:
        raise ValidationFailed("name: must not be empty", field="name")
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"name: at most {MAX_NAME} characters", field="name")
    return name


def _tier(value: Any) -> Tier:
    try:
        return Tier(value)
    except ValueError:
        raise ValidationFailed("tier: must be one of T1 to T7", field="tier") from None


def _role(value: Any) -> Role:
    try:
        return Role(value)
    except ValueError:
        raise ValidationFailed("role: must be client or admin", field="role") from None


def _group_id(value: Any) -> str | None:
    if value is None:
        return None
    group_id = value.strip() if isinstance(value, str) else ""
    if len(group_id) > MAX_ID or not GROUP_ID.fullmatch(group_id):
        raise ValidationFailed("groupId: must be a WhatsApp group id such as 120363000000000000@g.us",
                               field="groupId")
    return group_id


def _counterparty_id(value: Any) -> str | None:
    if value is None:
        return None
    counterparty_id = value.strip() if isinstance(value, str) else ""
    if not counterparty_id or len(counterparty_id) > MAX_ID:
        raise ValidationFailed(f"counterpartyId: 1 to {MAX_ID} characters (null clears it)", field="counterpartyId")
    return counterparty_id


def _participants(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(p, str) and p.strip() for p in value):
        raise ValidationFailed("botParticipants: must be a list of participant ids", field="botParticipants")
    participants = list(dict.fromkeys(p.strip() for p in value))
    if len(participants) > MAX_PARTICIPANTS or any(len(p) > MAX_ID for p in participants):
        raise ValidationFailed(f"botParticipants: at most {MAX_PARTICIPANTS} ids of at most {MAX_ID} characters",
                               field="botParticipants")
    return participants


def _cleaned_key(raw_key: str) -> str:
    if not MIN_KEY <= len(raw_key) <= MAX_KEY or any(c.isspace() for c in raw_key):
        raise ValidationFailed(f"apiKey: {MIN_KEY} to {MAX_KEY} characters without spaces", field="apiKey")
    return raw_key
