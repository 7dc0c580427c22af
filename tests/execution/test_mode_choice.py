"""The LP each mode picks, end to end: the feed's snapshot decides ``auto_best``, the override
decides ``auto_manual``, and the chosen LP receives the only order (scripted LPs, whose
prices the test sets)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from otc_framework.storage.models import HedgeStatus
from tests.desk import Desk
from tests.execution.conftest import settled, trade
from tests.liquidity import scripted_lp
from tests.liquidity.conftest import until


async def _prices(desk: Desk, **rates: str) -> None:
    """Set each LP's rate and wait until the feed's snapshot shows it."""
    for name, rate in rates.items():
        scripted_lp.latest(name).rate = Decimal(rate)
    feed = desk.runtime.lp_feed

    def shown() -> bool:
        return all((p := feed.latest(name, "USDC", "D0")) is not None and p.bid == Decimal(rate)
                   for name, rate in rates.items())

    await until(shown)


@pytest.mark.parametrize(("rates", "cheapest"), [
    ({"nonco": "5.0100", "horizon": "5.0200"}, "nonco"),
    ({"nonco": "5.0300", "horizon": "5.0200"}, "horizon"),
])
async def test_auto_best_hedges_on_the_cheapest_lp_of_the_snapshot(
    lp_desk: Desk, rates: dict[str, str], cheapest: str
) -> None:
    await _prices(lp_desk, **rates)
    await lp_desk.set_control("exec_mode", "auto_best")
    _, token = await lp_desk.client()
    hedge = await settled(await trade(lp_desk, token, currency="USDC"), HedgeStatus.FILLED)
    assert hedge.provider == cheapest
    assert hedge.fill_price == Decimal(rates[cheapest]) + scripted_lp.SPREAD
    other = next(name for name in rates if name != cheapest)
    assert scripted_lp.latest(cheapest).orders and not scripted_lp.latest(other).orders
    assert scripted_lp.latest(other).quotes == 0  # one tradable quote, on the cheapest only


async def test_auto_manual_hedges_on_the_override_whatever_the_prices(lp_desk: Desk) -> None:
    await _prices(lp_desk, nonco="5.0100", horizon="5.0900")
    await lp_desk.set_control("exec_lp_override", "horizon")
    await lp_desk.set_control("exec_mode", "auto_manual")
    _, token = await lp_desk.client()
    hedge = await settled(await trade(lp_desk, token, currency="USDC"), HedgeStatus.FILLED)
    assert hedge.provider == "horizon"
    assert not scripted_lp.latest("nonco").orders
