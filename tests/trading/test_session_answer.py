"""The quote's answer is written without the pydantic model (``sessions.routes.session_created``):
it must be exactly the text ``SessionCreated`` would write, for any session."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from otc_framework.sessions.routes import SessionCreated, session_created
from otc_framework.sessions.session import QuoteSession
from otc_framework.storage.models import Currency, Settlement

QUOTED = datetime(2026, 11, 23, 13, 0, tzinfo=UTC)
SESSION = QuoteSession(
    session_id="0123456789abcdef0123456789abcdef", client_id="c", client_name="n", tier="T1", group_id=None,
    currency="USDT", settlement="D0", amount=Decimal("1000"), price=Decimal("5.0150"), total_brl=Decimal("5015.00"),
    validity_seconds=7, quoted_at=QUOTED, expires_at=QUOTED + timedelta(seconds=7), reference_mode="spot",
    reference_price=Decimal("5.0000"), spot_at_quote=Decimal("5.0000"), binance_at_quote=None, lp_spread_pct_used=None,
    tier_spread_pct_used=Decimal("0.30"), spread_adjustment_used=Decimal(0), validity_adder_used=Decimal(0),
    usdt_usdc_ratio_used=Decimal(1),
)


def places(n: int) -> st.SearchStrategy[Decimal]:
    return st.decimals(min_value=Decimal(10) ** -n, max_value=Decimal("1e9"), places=n)


@given(
    currency=st.sampled_from(list(Currency)), settlement=st.sampled_from(list(Settlement)),
    amount=st.one_of(places(6), st.integers(1, 10**9).map(Decimal), places(6).map(lambda d: d.quantize(Decimal("1.000000")))),
    price=places(4), total=places(2),
    expires=st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)),
)
def test_the_quote_answer_is_the_models_text(
    currency: Currency, settlement: Settlement, amount: Decimal, price: Decimal, total: Decimal, expires: datetime,
) -> None:
    session = replace(SESSION, currency=str(currency), settlement=str(settlement), amount=amount, price=price,
                      total_brl=total, expires_at=expires)
    model = SessionCreated(session_id=session.session_id, currency=currency, settlement=settlement, amount=amount,
                           price=price, total_brl=total, expires_at=expires)
    assert session_created(session) == model.model_dump_json(by_alias=True)


def test_a_whole_second_is_written_without_a_fraction() -> None:
    session = replace(SESSION, expires_at=QUOTED)
    assert '"expiresAt":"2026-11-23T13:00:00Z"' in session_created(session)
