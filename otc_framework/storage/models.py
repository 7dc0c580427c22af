"""Tortoise models of the core tables (SPEC §15, and the alert queue of §13), app label ``models``.

The schema itself is owned by the migrations in ``otc_framework.storage.migrations``; these
classes are how the application reads and writes it. Money columns are ``DecimalField``
(numeric on PostgreSQL, text on SQLite) and always come back as ``Decimal``.

Enum-like columns store the exact API strings; their widths are fixed explicitly so adding
a value to an enum later never silently changes the schema a migration describes.

Trading rows (closings, hedges) reference their parents with ``RESTRICT``: a client with
trades, or a closing with a hedge, cannot be deleted. Audit rows reference nothing, so no
delete anywhere can reach them, and they are append-only (see ``AuditLog``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any
from uuid import UUID

import orjson
from tortoise import fields
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.manager import Manager
from tortoise.models import Model
from tortoise.queryset import QuerySet
from tortoise.timezone import now
from tortoise.validators import RegexValidator

from otc_framework.errors import OtcError


class Tier(StrEnum):
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    T5 = "T5"
    T6 = "T6"
    T7 = "T7"


class Role(StrEnum):
    CLIENT = "client"
    ADMIN = "admin"


class Currency(StrEnum):
    USDT = "USDT"
    USDC = "USDC"


class Settlement(StrEnum):
    D0 = "D0"
    D1 = "D1"
    D2 = "D2"


class Market(StrEnum):
    BR = "BR"
    US = "US"


class Channel(StrEnum):
    """Where a closing came from."""

    API = "API"
    BOT = "Bot"


class AuditSource(StrEnum):
    API = "API"
    BOT = "Bot"
    ADMIN = "Admin"
    SYSTEM = "System"


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class ClosingStatus(StrEnum):
    PENDING = "pending"
    FUNDED = "funded"
    PAID = "paid"
    SETTLED = "settled"
    CANCELLED = "cancelled"


class AlertDeliveryStatus(StrEnum):
    """Where one alert stands with one sink."""

    QUEUED = "queued"  # not tried yet
    RETRYING = "retrying"  # tried, failed, to be tried again at ``next_attempt_at``
    SENT = "sent"
    FAILED = "failed"  # given up: refused for good, the sink stopped, or out of attempts


class ChatMessageStatus(StrEnum):
    """Where one queued chat reply stands (``bot.outbox``)."""

    QUEUED = "queued"  # not tried yet
    RETRYING = "retrying"  # tried, failed, to be tried again at ``next_attempt_at``
    SENT = "sent"
    FAILED = "failed"  # given up: refused for good, or out of attempts
    EXPIRED = "expired"  # not sent before ``expires_at`` (a quote superseded by the next)


class HedgeStatus(StrEnum):
    """Where a closing's hedge stands (SPEC §10; the engine's state machine is in
    ``otc_framework.execution``)."""

    PENDING = "pending"  # owed, not started: nothing was sent
    HELD = "held"  # above exec_max_order_amount: waits for an operator
    QUOTING = "quoting"  # asking LPs for a tradable quote: nothing that can fill was sent
    EXECUTING = "executing"  # the order is (being) sent under ``client_order_id``
    UNKNOWN = "unknown"  # sent, no answer: reconciled with the venue, never re-sent blind
    FILLED = "filled"
    FAILED = "failed"  # known to have failed: nothing (more) executed; an operator may retry
    SKIPPED = "skipped"  # not hedged by design (exec_mode off, client not enabled)


# Statuses in which the desk still owes the hedge (its notional is open exposure).
OPEN_HEDGE_STATUSES = (
    HedgeStatus.PENDING, HedgeStatus.HELD, HedgeStatus.QUOTING, HedgeStatus.EXECUTING, HedgeStatus.UNKNOWN,
    HedgeStatus.FAILED,
)


class AppendOnlyError(OtcError):
    """An attempt to change or remove an audit row."""


def _json_default(value: Any) -> str:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


class JsonText(str):
    """A JSON column's whole value, already written as JSON text (a quote session as the
    store holds it, on every quote): taken as it is, rather than read back into values to be
    written again. Tortoise takes a ``str`` for a JSON field as JSON text too."""

    __slots__ = ()


def encode_json(value: Any) -> str:
    """JSON for the JSON columns. A Decimal is written as its exact string, never a float,
    so a value recorded in an audit detail or venue payload reads back digit for digit.
    ``JsonText`` is JSON already.

    orjson writes it (every quote's audit detail goes through here); what orjson refuses and
    the standard library takes (an integer beyond 64 bits, a key that is not a string) goes
    the standard library's way."""
    if type(value) is JsonText:
        return value
    try:
        return orjson.dumps(value, default=_json_default).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, default=_json_default, separators=(",", ":"))


def _money(max_digits: int, decimal_places: int, **kwargs: Any) -> fields.DecimalField:
    return fields.DecimalField(max_digits=max_digits, decimal_places=decimal_places, **kwargs)


class Client(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200, unique=True)
    api_key_hash = fields.CharField(
        max_length=64, unique=True, validators=[RegexValidator(r"^[0-9a-f]{64}$", 0)]
    )
    tier = fields.CharEnumField(Tier, max_length=4, default=Tier.T7)
    role = fields.CharEnumField(Role, max_length=16, default=Role.CLIENT)
    active = fields.BooleanField(default=True)
    group_id = fields.CharField(max_length=128, null=True, db_index=True)
    counterparty_id = fields.CharField(max_length=128, null=True)
    bot_participants: Any = fields.JSONField(default=list)
    # Tokens issued before this instant are refused, so rotating a key also logs it out.
    key_rotated_at = fields.DatetimeField(default=now)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "clients"


class Spread(Model):
    id = fields.IntField(primary_key=True)
    tier = fields.CharEnumField(Tier, max_length=4)
    currency = fields.CharEnumField(Currency, max_length=8)
    settlement = fields.CharEnumField(Settlement, max_length=4)
    spread_pct = _money(8, 4)
    updated_at = fields.DatetimeField(auto_now=True)
    updated_by = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "spreads"
        unique_together = (("tier", "currency", "settlement"),)


class LpSpread(Model):
    id = fields.IntField(primary_key=True)
    tier = fields.CharEnumField(Tier, max_length=4)
    currency = fields.CharEnumField(Currency, max_length=8)
    # NULL means the tier has no LP spread: LP quote mode falls back to spot for it.
    lp_spread_pct = _money(8, 4, null=True)
    updated_at = fields.DatetimeField(auto_now=True)
    updated_by = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "lp_spreads"
        unique_together = (("tier", "currency"),)


class SystemControl(Model):
    key = fields.CharField(max_length=64, primary_key=True)
    value = fields.TextField()
    updated_at = fields.DatetimeField(auto_now=True)
    updated_by = fields.CharField(max_length=200, null=True)

    class Meta:
        table = "system_controls"


class Holiday(Model):
    id = fields.IntField(primary_key=True)
    date = fields.DateField()
    label = fields.CharField(max_length=200)
    market = fields.CharEnumField(Market, max_length=4)

    class Meta:
        table = "holidays"
        unique_together = (("date", "market"),)


class Closing(Model):
    id = fields.UUIDField(primary_key=True)
    oid = fields.CharField(max_length=128, unique=True)
    # One closing per quote session: a replayed confirm can never trade twice.
    session_id = fields.CharField(max_length=64, unique=True)
    client: fields.ForeignKeyRelation[Client] = fields.ForeignKeyField(
        "models.Client", related_name="closings", on_delete=fields.RESTRICT
    )
    client_id: Any
    client_name = fields.CharField(max_length=200)
    tier = fields.CharEnumField(Tier, max_length=4)
    source = fields.CharEnumField(Channel, max_length=16)
    # The desk's side: it sells the stablecoin to the client, the only flow today.
    side = fields.CharEnumField(Side, max_length=8, default=Side.SELL)
    currency = fields.CharEnumField(Currency, max_length=8)
    settlement = fields.CharEnumField(Settlement, max_length=4)
    amount = _money(24, 6)
    price = _money(18, 4)
    total_brl = _money(24, 2)
    status = fields.CharEnumField(
        ClosingStatus, max_length=16, default=ClosingStatus.PENDING, db_index=True
    )
    settlement_date = fields.DateField()
    group_id = fields.CharField(max_length=128, null=True)
    # Snapshot of every pricing input, so any price can be replayed from the row alone.
    reference_mode = fields.CharField(max_length=32)
    reference_price = _money(18, 8)
    spot_at_quote = _money(18, 8, null=True)
    binance_at_quote = _money(18, 8, null=True)
    lp_spread_pct_used = _money(8, 4, null=True)
    tier_spread_pct_used = _money(8, 4, null=True)
    spread_adjustment_used = _money(8, 4)
    validity_adder_used = _money(8, 4)
    usdt_usdc_ratio_used = _money(10, 6)
    validity_seconds = fields.IntField()
    quoted_at = fields.DatetimeField()
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    updated_at = fields.DatetimeField(auto_now=True)

    hedge: fields.BackwardOneToOneRelation[Hedge]

    class Meta:
        table = "closings"
        indexes = (("client_id", "created_at"),)


class AppendOnlyQuerySet(QuerySet):
    """Reads as usual; refuses every bulk write but insertion."""

    def update(self, **kwargs: Any) -> Any:
        raise AppendOnlyError(f"{self.model.__name__} rows cannot be updated")

    def delete(self) -> Any:
        raise AppendOnlyError(f"{self.model.__name__} rows cannot be deleted")

    def bulk_update(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError(f"{self.model.__name__} rows cannot be updated")

    def select_for_update(self, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError(f"{self.model.__name__} rows are never locked for update")

    def bulk_create(
        self,
        objects: Iterable[Any],
        batch_size: int | None = None,
        ignore_conflicts: bool = False,
        update_fields: Iterable[str] | None = None,
        on_conflict: Iterable[str] | None = None,
    ) -> Any:
        # An upsert (ON CONFLICT DO UPDATE) would rewrite the existing row.
        if update_fields or on_conflict:
            raise AppendOnlyError(f"{self.model.__name__} rows cannot be upserted")
        return super().bulk_create(objects, batch_size, ignore_conflicts)


class AppendOnlyManager(Manager):
    def get_queryset(self) -> QuerySet:
        return AppendOnlyQuerySet(self._model)


class AuditLog(Model):
    """One audited action (SPEC §14). Append-only.

    Through the model, rows can only be created: ``save`` of a stored row, ``delete``,
    ``update_or_create``, ``bulk_update``, an upserting ``bulk_create``, and queryset
    ``update``/``delete``/``select_for_update`` raise ``AppendOnlyError`` (the model's
    manager hands out an ``AppendOnlyQuerySet``). The database enforces the same with
    triggers (migration ``0003_audit_append_only``), so raw SQL cannot rewrite history
    either. ``closing_id`` and ``client_id`` are plain columns, not foreign keys, so
    deleting anything else never touches the audit trail.
    """

    id = fields.BigIntField(primary_key=True)
    action = fields.CharField(max_length=64, db_index=True)
    actor = fields.CharField(max_length=200)
    source = fields.CharEnumField(AuditSource, max_length=16)
    session_id = fields.CharField(max_length=64, null=True)
    oid = fields.CharField(max_length=128, null=True)
    closing_id = fields.UUIDField(null=True, db_index=True)
    client_id = fields.UUIDField(null=True)
    ip_address = fields.CharField(max_length=45, null=True)
    detail: Any = fields.JSONField(default=dict, encoder=encode_json)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)

    class Meta:
        table = "audit_logs"
        manager = AppendOnlyManager()

    async def save(
        self,
        using_db: BaseDBAsyncClient | None = None,
        update_fields: Iterable[str] | None = None,
        force_create: bool = False,
        force_update: bool = False,
    ) -> None:
        if self._saved_in_db or update_fields or force_update:
            raise AppendOnlyError("AuditLog rows cannot be updated")
        await super().save(using_db=using_db, force_create=True)

    async def delete(self, using_db: BaseDBAsyncClient | None = None) -> None:
        raise AppendOnlyError("AuditLog rows cannot be deleted")

    @classmethod
    async def update_or_create(cls, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("AuditLog rows cannot be updated")

    @classmethod
    def bulk_update(cls, *args: Any, **kwargs: Any) -> Any:
        raise AppendOnlyError("AuditLog rows cannot be updated")


class Hedge(Model):
    """A closing's hedge: its intent (written with the closing, in one transaction), then what
    the engine did. ``client_order_id`` is derived from the id and ``attempt`` and stored before
    the order is sent; ``filled_amount``, ``fill_price`` (VWAP) and ``chunks`` aggregate the
    attempt's executions (``hedge_executions``)."""

    id = fields.UUIDField(primary_key=True)
    # One-to-one: a closing is hedged at most once.
    closing: fields.OneToOneRelation[Closing] = fields.OneToOneField(
        "models.Closing", related_name="hedge", on_delete=fields.RESTRICT
    )
    closing_id: Any
    status = fields.CharEnumField(HedgeStatus, max_length=16, default=HedgeStatus.PENDING)
    # Why it is in its status (skipped, held, failed, unknown), in words for operators.
    reason = fields.TextField(null=True)
    # What is executed at the LP: the desk's side there, and the instrument (D1/D2 USDT as USDC).
    side = fields.CharEnumField(Side, max_length=8)
    currency = fields.CharEnumField(Currency, max_length=8)
    settlement = fields.CharEnumField(Settlement, max_length=4)
    amount = _money(24, 6)
    client_price = _money(18, 4)
    provider = fields.CharField(max_length=64, null=True)
    attempt = fields.IntField(default=0)
    client_order_id = fields.CharField(max_length=64, null=True, unique=True)
    quote_id = fields.CharField(max_length=128, null=True)
    quote_price = _money(18, 8, null=True)
    quote_valid_until = fields.DatetimeField(null=True)
    filled_amount = _money(24, 6, default=Decimal(0))
    fill_price = _money(18, 8, null=True)
    chunks = fields.IntField(default=0)
    spread_capture_bps = _money(12, 1, null=True)
    # Set when an operator marked it filled by hand: the venue's reference of the trade.
    venue_reference = fields.CharField(max_length=200, null=True)
    # The operator who let a held hedge (above exec_max_order_amount) go to the market.
    released_by = fields.CharField(max_length=200, null=True)
    # When an unknown outcome is next asked of the venue.
    next_check_at = fields.DatetimeField(null=True)
    checks = fields.IntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)
    filled_at = fields.DatetimeField(null=True)

    executions: fields.ReverseRelation[HedgeExecution]

    class Meta:
        table = "hedges"
        indexes = (("status", "created_at"), ("created_at",))


class HedgeExecution(Model):
    """One venue execution of a hedge (a Horizon chunk, a Nonco trade report): counted once
    per venue execution id, whichever path (the order's answer, a lookup) reported it."""

    id = fields.BigIntField(primary_key=True)
    hedge: fields.ForeignKeyRelation[Hedge] = fields.ForeignKeyField(
        "models.Hedge", related_name="executions", on_delete=fields.RESTRICT
    )
    hedge_id: Any
    attempt = fields.IntField()
    provider = fields.CharField(max_length=64)
    client_order_id = fields.CharField(max_length=64)
    execution_id = fields.CharField(max_length=128)
    amount = _money(24, 6)
    price = _money(18, 8)
    executed_at = fields.DatetimeField()
    recorded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "hedge_executions"
        unique_together = (("hedge", "execution_id"),)


class SpotTick(Model):
    id = fields.BigIntField(primary_key=True)
    source = fields.CharField(max_length=32)
    instrument = fields.CharField(max_length=32)
    bid = _money(18, 8)
    ask = _money(18, 8)
    # ``last`` would shadow Model.last(); the column keeps the venue's name.
    last_price = _money(18, 8, null=True, source_field="last")
    venue_time = fields.DatetimeField(null=True)
    received_at = fields.DatetimeField(default=now, db_index=True)

    class Meta:
        table = "spot_ticks"
        indexes = (("source", "instrument", "received_at"),)


class AlertRecord(Model):
    """An alert as raised (SPEC §13): kept so operators can list what went out, not audited."""

    id = fields.BigIntField(primary_key=True)
    kind = fields.CharField(max_length=64, db_index=True)
    severity = fields.CharField(max_length=16)
    title = fields.CharField(max_length=200)
    detail = fields.TextField()
    dedup_key = fields.CharField(max_length=200)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    deliveries: fields.ReverseRelation[AlertDelivery]

    class Meta:
        table = "alerts"


class AlertDelivery(Model):
    """One alert's delivery to one sink: the durable outbound queue the delivery loop drains."""

    id = fields.BigIntField(primary_key=True)
    alert: fields.ForeignKeyRelation[AlertRecord] = fields.ForeignKeyField(
        "models.AlertRecord", related_name="deliveries", on_delete=fields.CASCADE
    )
    alert_id: int
    sink = fields.CharField(max_length=64)
    status = fields.CharEnumField(AlertDeliveryStatus, max_length=16, default=AlertDeliveryStatus.QUEUED)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    next_attempt_at = fields.DatetimeField(default=now)
    sent_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "alert_deliveries"
        unique_together = (("alert", "sink"),)
        indexes = (("sink", "status", "alert"),)


class ChatMessage(Model):
    """A reply the bot queued for a chat: the durable outbound queue of chat channels.

    ``dedup_key`` makes queueing idempotent: the bot's timed steps queue each quote under
    its session and number, so a step repeated after a crash queues nothing twice.
    """

    id = fields.BigIntField(primary_key=True)
    channel = fields.CharField(max_length=64)
    chat_id = fields.CharField(max_length=128)
    text = fields.TextField()
    dedup_key = fields.CharField(max_length=200, null=True, unique=True)
    session_id = fields.CharField(max_length=64, null=True, db_index=True)
    status = fields.CharEnumField(ChatMessageStatus, max_length=16, default=ChatMessageStatus.QUEUED)
    attempts = fields.IntField(default=0)
    last_error = fields.TextField(null=True)
    next_attempt_at = fields.DatetimeField(default=now)
    expires_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True, db_index=True)
    sent_at = fields.DatetimeField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "chat_messages"
        indexes = (("status", "channel", "chat_id", "id"),)


__all__ = [
    "AlertDelivery",
    "AlertDeliveryStatus",
    "AlertRecord",
    "AppendOnlyError",
    "AuditLog",
    "AuditSource",
    "Channel",
    "ChatMessage",
    "ChatMessageStatus",
    "Client",
    "Closing",
    "ClosingStatus",
    "Currency",
    "Hedge",
    "HedgeStatus",
    "Holiday",
    "LpSpread",
    "Market",
    "Role",
    "Settlement",
    "Side",
    "SpotTick",
    "Spread",
    "SystemControl",
    "Tier",
    "encode_json",
]
