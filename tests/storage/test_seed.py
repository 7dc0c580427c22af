from __future__ import annotations

from decimal import Decimal

import pytest

from otc_framework.controls import CORE_CONTROLS, ControlDefinition, ControlKind
from otc_framework.storage.database import migrate
from otc_framework.storage.models import LpSpread, Spread, SystemControl
from otc_framework.storage.seed import (
    DEFAULT_LP_SPREADS,
    DEFAULT_SPREADS,
    seed_all,
    seed_controls,
    seed_grids,
)

TIERS = [f"T{n}" for n in range(1, 8)]


def test_spread_grid_shape_and_required_values() -> None:
    assert len(DEFAULT_SPREADS) == 42 and len(DEFAULT_LP_SPREADS) == 14
    assert DEFAULT_SPREADS["T1", "USDT", "D0"] == Decimal("0.30")
    assert DEFAULT_SPREADS["T1", "USDT", "D1"] == Decimal("0.15")
    assert DEFAULT_SPREADS["T1", "USDT", "D2"] == Decimal("0.05")
    assert DEFAULT_SPREADS["T3", "USDT", "D0"] == Decimal("1.00")
    values = [*DEFAULT_SPREADS.values(), *DEFAULT_LP_SPREADS.values()]
    assert all(type(v) is Decimal for v in values)


@pytest.mark.parametrize("currency", ["USDT", "USDC"])
def test_spreads_rise_with_tier_and_fall_with_settlement(currency: str) -> None:
    for settlement in ("D0", "D1", "D2"):
        column = [DEFAULT_SPREADS[t, currency, settlement] for t in TIERS]
        assert column == sorted(column) and len(set(column)) == 7
    for tier in TIERS:
        row = [DEFAULT_SPREADS[tier, currency, s] for s in ("D0", "D1", "D2")]
        assert row[0] > row[1] > row[2] > 0
    lp = [DEFAULT_LP_SPREADS[t, currency] for t in TIERS]
    assert lp == sorted(lp) and len(set(lp)) == 7


async def test_seeding_again_changes_nothing(db: str) -> None:
    before = (
        sorted(await Spread.all().values_list("tier", "currency", "settlement", "spread_pct")),
        sorted(await LpSpread.all().values_list("tier", "currency", "lp_spread_pct")),
        sorted(await SystemControl.all().values_list("key", "value")),
    )
    assert await seed_all(CORE_CONTROLS) == 0
    assert await seed_grids() == 0 and await seed_controls(CORE_CONTROLS) == 0
    after = (
        sorted(await Spread.all().values_list("tier", "currency", "settlement", "spread_pct")),
        sorted(await LpSpread.all().values_list("tier", "currency", "lp_spread_pct")),
        sorted(await SystemControl.all().values_list("key", "value")),
    )
    assert after == before


async def test_seeding_never_overwrites_an_operator_value(db: str) -> None:
    await Spread.filter(tier="T1", currency="USDT", settlement="D0").update(
        spread_pct=Decimal("0.25"), updated_by="ops"
    )
    await LpSpread.filter(tier="T2", currency="USDC").update(lp_spread_pct=None)
    await SystemControl.filter(key="quoting_enabled").update(value="false")
    await Spread.filter(tier="T7", currency="USDC", settlement="D2").delete()
    await SystemControl.filter(key="exec_mode").delete()

    assert await seed_all(CORE_CONTROLS) == 2

    t1 = await Spread.get(tier="T1", currency="USDT", settlement="D0")
    assert (t1.spread_pct, t1.updated_by) == (Decimal("0.25"), "ops")
    assert (await LpSpread.get(tier="T2", currency="USDC")).lp_spread_pct is None
    assert (await SystemControl.get(key="quoting_enabled")).value == "false"
    restored = await Spread.get(tier="T7", currency="USDC", settlement="D2")
    assert restored.spread_pct == DEFAULT_SPREADS["T7", "USDC", "D2"]
    assert (await SystemControl.get(key="exec_mode")).value == "off"


async def test_plugin_controls_are_added_beside_the_core(db: str) -> None:
    extra = ControlDefinition("lp_demo_enabled", ControlKind.BOOL, True, "demo", owner="lp_demo")
    assert await seed_all([*CORE_CONTROLS, extra]) == 1
    assert (await SystemControl.get(key="lp_demo_enabled")).value == "true"
    with pytest.raises(ValueError, match="defined twice"):
        await seed_controls([extra, extra])


async def test_seeding_fills_empty_tables(database_url: str) -> None:
    from otc_framework.storage.database import close_database, open_database

    await migrate(database_url, "0001_initial")
    await open_database(database_url)
    try:
        assert await seed_all(CORE_CONTROLS) == 42 + 14 + len(CORE_CONTROLS)
        assert await Spread.all().count() == 42
        stored = dict(await SystemControl.all().values_list("key", "value"))
        assert stored["exec_enabled_clients"] == "" and stored["usdc_usdt_ratio"] == "1.0000"
    finally:
        await close_database()
