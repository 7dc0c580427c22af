"""A close's answer and the admin view of its closing are written without their pydantic models
(``closings.schemas.closing_answer_text``, ``closing_view``): each must be exactly what the
model writes, for any closing, a fresh ``ClosingRow`` (plain strings) or a database row (the
columns' enum members)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import orjson
from hypothesis import given
from hypothesis import strategies as st

from otc_framework.closings.repository import ClosingRow
from otc_framework.closings.schemas import AdminClosing, ClosingAnswer, closing_answer_text, closing_view
from otc_framework.storage.models import Channel, ClosingStatus, Currency, Settlement, Side, Tier

CREATED = datetime(2026, 11, 23, 13, 0, 1, 250000, tzinfo=UTC)
ROW = ClosingRow(
    id=uuid.UUID("6e73e2d0-4197-4166-b0fe-32a1728d5080"), oid="o-1", session_id="0123456789abcdef0123456789abcdef",
    client_id=uuid.UUID("88425bb0-5835-4f54-a591-2cc5d00cb1a3"), client_name="Acme", tier="T1", source="API",
    side="SELL", currency="USDT", settlement="D0", amount=Decimal("1000.000000"), price=Decimal("5.0150"),
    total_brl=Decimal("5015.00"), status="pending", settlement_date=date(2026, 11, 23), group_id=None,
    reference_mode="spot", reference_price=Decimal("5.0000"), spot_at_quote=Decimal("5.0000"), binance_at_quote=None,
    lp_spread_pct_used=None, tier_spread_pct_used=Decimal("0.3000"), spread_adjustment_used=Decimal("0"),
    validity_adder_used=Decimal("0"), usdt_usdc_ratio_used=Decimal("1"), validity_seconds=7,
    quoted_at=CREATED - timedelta(seconds=3), created_at=CREATED, updated_at=CREATED,
)


def places(n: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=Decimal(10) ** -n, max_value=Decimal("1e9"), places=n)


def either(enum: Any) -> st.SearchStrategy[Any]:
    """A column's value as a ``ClosingRow`` holds it (a string) or as Tortoise reads it (a member)."""
    return st.sampled_from(list(enum)).flatmap(lambda member: st.sampled_from([member, member.value]))


zones = st.sampled_from([UTC, timezone(timedelta(hours=-3)), ZoneInfo("America/Sao_Paulo"), ZoneInfo("UTC")])
times = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=zones)
optional = st.one_of(st.none(), places(4))

closings = st.builds(
    replace, st.just(ROW),
    id=st.uuids(), client_id=st.uuids(), oid=st.text(min_size=1, max_size=64), client_name=st.text(max_size=200),
    tier=either(Tier), source=either(Channel), side=either(Side), currency=either(Currency),
    settlement=either(Settlement), status=either(ClosingStatus),
    amount=st.one_of(places(6), st.integers(1, 10**9).map(Decimal), places(6).map(lambda d: d.quantize(Decimal("1.000000")))),
    price=places(4), total_brl=places(2), settlement_date=st.dates(), group_id=st.one_of(st.none(), st.text(max_size=20)),
    reference_price=places(4), spot_at_quote=optional, binance_at_quote=optional, lp_spread_pct_used=optional,
    tier_spread_pct_used=optional, spread_adjustment_used=places(4), validity_adder_used=places(4),
    usdt_usdc_ratio_used=places(6), validity_seconds=st.integers(1, 60), quoted_at=times, created_at=times,
    updated_at=times,
)


@given(closings)
def test_the_close_answer_is_the_models_text(closing: ClosingRow) -> None:
    assert closing_answer_text(closing) == ClosingAnswer.of(closing).model_dump_json(by_alias=True)


@given(closings)
def test_the_admin_view_is_the_models_dump(closing: ClosingRow) -> None:
    view = closing_view(closing)
    model = AdminClosing.of(closing).model_dump(mode="json", by_alias=True)
    assert view == model
    assert list(view) == list(model)  # the same order, so the feed's JSON text is the same too
    assert all(type(value) in (str, int, type(None)) for value in view.values())
    assert orjson.dumps(view) == orjson.dumps(model)


def test_a_whole_second_and_a_trailing_zero_amount() -> None:
    closing = replace(ROW, created_at=datetime(2026, 11, 23, 13, 0, tzinfo=UTC), amount=Decimal("100000.000000"))
    assert '"amount":"100000"' in closing_answer_text(closing)
    assert '"createdAt":"2026-11-23T13:00:00Z"' in closing_answer_text(closing)
    assert closing_view(closing)["createdAt"] == "2026-11-23T13:00:00Z"
