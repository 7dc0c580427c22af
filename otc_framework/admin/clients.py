"""Creating clients. The raw API key leaves this module once, in the return value; only its
hash is stored, and the audit row records who created whom, never the key."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from otc_framework.audit import record
from otc_framework.auth.api_keys import generate_api_key, hash_api_key
from otc_framework.errors import ValidationFailed
from otc_framework.storage.models import AuditSource, Client, Role, Tier


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
