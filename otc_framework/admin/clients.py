"""Creating clients, and the changes that revoke their tokens at once.

The raw API key leaves this module once, in the return value; only its hash is stored, and
the audit row records who did what to whom, never the key. Every change refreshes the cached
client record after commit, so the next request in any worker sees it (SPEC §7).
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.timezone import now
from tortoise.transactions import in_transaction

from otc_framework.audit import record
from otc_framework.auth.api_keys import generate_api_key, hash_api_key
from otc_framework.auth.client_cache import refresh_client
from otc_framework.errors import NotFound, ValidationFailed
from otc_framework.storage.models import AuditSource, Client, Role, Tier
from otc_framework.storage.store import Store


@dataclass(frozen=True, slots=True)
class CreatedClient:
    client: Client
    api_key: str


async def create_client(
    name: str,
    tier: Tier,
    *,
    role: Role = Role.CLIENT,
    api_key: str | None = None,
    actor: str,
    source: AuditSource,
    ip_address: str | None = None,
) -> CreatedClient:
    name = name.strip()
    if not name:
        raise ValidationFailed("name: must not be empty", field="name")
    raw_key = api_key or generate_api_key()
    if len(raw_key) < 24:
        raise ValidationFailed("apiKey: must be at least 24 characters", field="apiKey")
    try:
        async with in_transaction() as conn:
            client = await Client.create(
                name=name, tier=tier, role=role, api_key_hash=hash_api_key(raw_key), using_db=conn
            )
            await record(
                "client.create",
                actor=actor,
                source=source,
                client_id=client.id,
                ip_address=ip_address,
                detail={"after": {"name": client.name, "tier": str(tier), "role": str(role)}},
                using_db=conn,
            )
    except IntegrityError:
        raise ValidationFailed(f"name: a client named {name!r} exists, or the key is in use", field="name") from None
    return CreatedClient(client, raw_key)


async def set_client_active(
    client_id: str, active: bool, *, store: Store, actor: str, source: AuditSource, ip_address: str | None = None
) -> Client:
    async with in_transaction() as conn:
        client = await Client.filter(id=client_id).using_db(conn).select_for_update().first()
        if client is None:
            raise NotFound("no such client")
        before = client.active
        client.active = active
        await client.save(using_db=conn, update_fields=["active", "updated_at"])
        await record(
            "client.activate" if active else "client.deactivate",
            actor=actor, source=source, client_id=client.id, ip_address=ip_address,
            detail={"before": {"active": before}, "after": {"active": active}}, using_db=conn,
        )
    await refresh_client(store, client_id)
    return client


async def rotate_client_key(
    client_id: str, *, store: Store, actor: str, source: AuditSource, api_key: str | None = None,
    ip_address: str | None = None,
) -> CreatedClient:
    """A new key; the old key stops logging in and every token minted before now is refused."""
    raw_key = api_key or generate_api_key()
    async with in_transaction() as conn:
        client = await Client.filter(id=client_id).using_db(conn).select_for_update().first()
        if client is None:
            raise NotFound("no such client")
        client.api_key_hash = hash_api_key(raw_key)
        client.key_rotated_at = now()
        await client.save(using_db=conn, update_fields=["api_key_hash", "key_rotated_at", "updated_at"])
        await record("client.rotate_key", actor=actor, source=source, client_id=client.id, ip_address=ip_address,
                     detail={"after": {"keyRotatedAt": client.key_rotated_at.isoformat()}}, using_db=conn)
    await refresh_client(store, client_id)
    return CreatedClient(client, raw_key)
