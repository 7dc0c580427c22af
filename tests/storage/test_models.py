from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from tortoise.connection import get_connection
from tortoise.exceptions import IntegrityError, OperationalError, ValidationError

from otc_framework.storage.models import (
    AppendOnlyError,
    AuditLog,
    Client,
    Closing,
    ClosingStatus,
    Hedge,
    LpSpread,
    SpotTick,
)

QUOTED_AT = datetime(2025, 3, 14, 13, 5, 7, tzinfo=UTC)


async def _client(name: str = "Acme") -> Client:
    return await Client.create(name=name, api_key_hash=uuid.uuid4().hex * 2, tier="T1")


def _closing(client: Client, **overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "oid": f"oid-{uuid.uuid4().hex}",
        "session_id": uuid.uuid4().hex,
        "client": client,
        "client_name": client.name,
        "tier": client.tier,
        "source": "API",
        "currency": "USDT",
        "settlement": "D0",
        "amount": Decimal("10000.500000"),
        "price": Decimal("5.0150"),
        "total_brl": Decimal("50150.00"),
        "settlement_date": date(2025, 3, 14),
        "reference_mode": "spot",
        "reference_price": Decimal("5.00000000"),
        "spot_at_quote": Decimal("5.00000000"),
        "binance_at_quote": Decimal("5.01234567"),
        "tier_spread_pct_used": Decimal("0.3000"),
        "spread_adjustment_used": Decimal("0"),
        "validity_adder_used": Decimal("0"),
        "usdt_usdc_ratio_used": Decimal("1.000000"),
        "validity_seconds": 7,
        "quoted_at": QUOTED_AT,
    }
    values.update(overrides)
    return values


async def test_decimals_round_trip_exactly(db: str) -> None:
    client = await _client()
    created = await Closing.create(**_closing(client))
    row = await Closing.get(id=created.id)
    for field, text in {
        "price": "5.0150",
        "total_brl": "50150.00",
        "amount": "10000.500000",
        "reference_price": "5.00000000",
        "binance_at_quote": "5.01234567",
        "usdt_usdc_ratio_used": "1.000000",
    }.items():
        value = getattr(row, field)
        assert type(value) is Decimal, field
        assert str(value) == text, field
    assert row.lp_spread_pct_used is None
    assert row.status == ClosingStatus.PENDING and row.side == "SELL"
    assert row.quoted_at == QUOTED_AT
    assert row.client_id == client.id


async def test_values_are_stored_as_api_strings(db: str) -> None:
    client = await _client()
    created = await Closing.create(**_closing(client, source="Bot"))
    rows = await get_connection("default").execute_query_dict(
        "SELECT source, status, side FROM closings WHERE oid = "
        + ("$1" if get_connection("default").capabilities.dialect == "postgres" else "?"),
        [created.oid],
    )
    assert rows == [{"source": "Bot", "status": "pending", "side": "SELL"}]


async def test_other_money_columns_read_back_as_decimal(db: str) -> None:
    client = await _client()
    closing = await Closing.create(**_closing(client))
    await Hedge.create(
        closing=closing, provider="nonco", side="BUY", currency="USDT", settlement="D0",
        amount=Decimal("10000.500000"), client_price=Decimal("5.0150"),
        fill_price=Decimal("5.00123456"), spread_capture_bps=Decimal("27.5"), quote_price=Decimal("5.00123457"),
        filled_amount=Decimal("10000.500000"),
    )
    hedge = await Hedge.get(closing_id=closing.id)
    assert str(hedge.fill_price) == "5.00123456" and str(hedge.spread_capture_bps) == "27.5"
    assert (str(hedge.quote_price), str(hedge.filled_amount)) == ("5.00123457", "10000.500000")
    await SpotTick.create(source="valorpro", instrument="USDBRL", bid=Decimal("4.99870000"),
                          ask=Decimal("5.00130000"), last_price=Decimal("5.00000001"))
    tick = await SpotTick.get(source="valorpro")
    assert (str(tick.bid), str(tick.last_price)) == ("4.99870000", "5.00000001")
    assert tick.received_at.tzinfo is not None
    await LpSpread.filter(tier="T7", currency="USDC").update(lp_spread_pct=None)
    assert (await LpSpread.get(tier="T7", currency="USDC")).lp_spread_pct is None


async def test_deleting_a_client_with_a_closing_is_refused(db: str) -> None:
    client = await _client()
    closing = await Closing.create(**_closing(client))
    with pytest.raises(IntegrityError):
        await client.delete()
    with pytest.raises(IntegrityError):
        await Client.filter(id=client.id).delete()
    assert await Client.exists(id=client.id)
    assert (await Closing.get(id=closing.id)).client_id == client.id


async def test_deleting_a_hedged_closing_is_refused(db: str) -> None:
    client = await _client()
    closing = await Closing.create(**_closing(client))
    await Hedge.create(closing=closing, provider="nonco", side="BUY", currency="USDT",
                       settlement="D0", amount=Decimal("1"), client_price=Decimal("5.0150"))
    with pytest.raises(IntegrityError):
        await closing.delete()
    assert await Closing.exists(id=closing.id)


async def test_a_closing_is_hedged_at_most_once(db: str) -> None:
    closing = await Closing.create(**_closing(await _client()))
    hedge = {"provider": "nonco", "side": "BUY", "currency": "USDT", "settlement": "D0",
             "amount": Decimal("1"), "client_price": Decimal("5.0150")}
    await Hedge.create(closing=closing, **hedge)
    with pytest.raises(IntegrityError):
        await Hedge.create(closing=closing, **hedge)


async def test_oid_is_unique(db: str) -> None:
    client = await _client()
    await Closing.create(**_closing(client, oid="same-oid"))
    with pytest.raises(IntegrityError):
        await Closing.create(**_closing(client, oid="same-oid"))
    assert await Closing.filter(oid="same-oid").count() == 1


async def test_session_id_is_unique(db: str) -> None:
    client = await _client()
    await Closing.create(**_closing(client, session_id="sess-1"))
    with pytest.raises(IntegrityError):
        await Closing.create(**_closing(client, session_id="sess-1"))
    assert await Closing.filter(session_id="sess-1").count() == 1


async def test_client_defaults(db: str) -> None:
    client = await Client.create(name="Beta", api_key_hash="ab" * 32)
    row = await Client.get(id=client.id)
    assert (row.tier, row.role, row.active) == ("T7", "client", True)
    assert row.bot_participants == [] and row.group_id is None
    assert row.key_rotated_at.tzinfo is not None
    with pytest.raises(IntegrityError):
        await Client.create(name="Beta", api_key_hash="cd" * 32)
    with pytest.raises(ValidationError):
        await Client.create(name="Gamma", api_key_hash="not-a-sha256-hex-digest")


async def test_audit_rows_are_created_and_read(db: str) -> None:
    closing_id = uuid.uuid4()
    row = await AuditLog.create(
        action="spread.update", actor="ops@desk", source="Admin", closing_id=closing_id,
        ip_address="2001:db8::1", detail={"old": Decimal("0.30"), "new": Decimal("0.35")},
    )
    stored = await AuditLog.get(id=row.id)
    assert stored.detail == {"old": "0.30", "new": "0.35"}
    assert stored.source == "Admin" and stored.closing_id == closing_id
    assert stored.created_at.tzinfo is not None


async def test_audit_rows_cannot_be_changed_through_the_model(db: str) -> None:
    row = await AuditLog.create(action="CLOSE_SUCCESS", actor="Acme", source="API")
    row.actor = "someone else"
    with pytest.raises(AppendOnlyError):
        await row.save()
    fetched = await AuditLog.get(id=row.id)
    fetched.detail = {"rewritten": True}
    with pytest.raises(AppendOnlyError):
        await fetched.save(update_fields=["detail"])
    with pytest.raises(AppendOnlyError):
        await fetched.save(force_update=True)
    with pytest.raises(AppendOnlyError):
        await fetched.delete()
    with pytest.raises(AppendOnlyError):
        await AuditLog.filter(id=row.id).update(actor="x")
    with pytest.raises(AppendOnlyError):
        await AuditLog.filter(id=row.id).delete()
    with pytest.raises(AppendOnlyError):
        await AuditLog.all().delete()
    with pytest.raises(AppendOnlyError):
        await AuditLog.bulk_update([fetched], fields=["actor"])
    with pytest.raises(AppendOnlyError):
        await AuditLog.update_or_create(id=row.id, defaults={"actor": "x"})
    with pytest.raises(AppendOnlyError):
        await AuditLog.select_for_update().filter(id=row.id)
    with pytest.raises(AppendOnlyError):
        await AuditLog.bulk_create(
            [AuditLog(id=row.id, action="x", actor="x", source="API")],
            update_fields=["actor"], on_conflict=["id"],
        )
    await AuditLog.bulk_create([AuditLog(action="BOT_REF", actor="group", source="Bot")])
    assert await AuditLog.filter(action="BOT_REF").count() == 1
    stored = await AuditLog.get(id=row.id)
    assert (stored.actor, stored.detail) == ("Acme", {})


async def test_audit_rows_cannot_be_changed_with_raw_sql(db: str) -> None:
    await AuditLog.create(action="LOGIN_FAILED", actor="?", source="API")
    conn = get_connection("default")
    for sql in ("UPDATE audit_logs SET actor = 'x'", "DELETE FROM audit_logs"):
        with pytest.raises((IntegrityError, OperationalError)):
            await conn.execute_script(sql)
    assert await AuditLog.filter(actor="?").count() == 1


async def test_a_postgres_connection_handed_back_in_a_transaction_is_rolled_back(db: str) -> None:
    """The pool's reset is ROLLBACK-only (``database.rollback_only``): a connection a cancelled
    request left inside a transaction comes back clean, and nothing it wrote stays."""
    client = get_connection("default")
    if client.capabilities.dialect != "postgres":
        pytest.skip("the pool reset is asyncpg's")
    pool = client._pool  # noqa: SLF001 (the pool Tortoise opened)
    async with pool.acquire() as raw:
        await raw.execute("BEGIN")
        await raw.execute("CREATE TABLE left_open (x int)")
        assert raw.is_in_transaction()
    for _ in range(pool.get_size()):
        async with pool.acquire() as raw:
            assert not raw.is_in_transaction()
    async with pool.acquire() as raw:
        assert await raw.fetchval("SELECT to_regclass('left_open')") is None
