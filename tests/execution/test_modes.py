"""The built-in execution modes (SPEC §10, seed "Execution Modes" and "Auto-Execution"): which
LP each one hedges on, and how modes, built-in or a plugin's, become ``exec_mode`` values."""

from __future__ import annotations

import types
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from otc_framework.builtin.execution_modes import AutoBest, AutoManual, Off, OffMarket
from otc_framework.config import DeploymentConfig
from otc_framework.controls import CORE_CONTROLS, ControlDefinition
from otc_framework.errors import ConfigError, ValidationFailed
from otc_framework.hookspecs import hookimpl
from otc_framework.plugins import PluginHost, build_plugin_host
from otc_framework.ports import ExecutionContext, ExecutionStrategy, HedgeOrder, LpPrice, LpQuote, NoHedge, Side
from otc_framework.web import create_app
from tests.conftest import make_config
from tests.liquidity.scripted_lp import ScriptedLp

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)
DEFAULT_CONTROLS = {c.key: c.default for c in CORE_CONTROLS}
BUILT_IN_MODES = ["off", "auto_best", "auto_manual", "off_market"]


def order(side: Side = "BUY") -> HedgeOrder:
    return HedgeOrder("h-1", "c-1", side, "USDC", "D0", Decimal("100000"), Decimal("5.1300"))


class Venues:
    """The LPs behind ``quote`` and ``quote_all``: each answers its tradable price, or fails
    (``None``), and every provider asked is recorded in order."""

    def __init__(self, **prices: str | None) -> None:
        self.prices = prices
        self.asked: list[str] = []

    async def quote(self, provider: str, hedge: HedgeOrder) -> LpQuote | None:
        self.asked.append(provider)
        price = self.prices[provider]
        if price is None:
            return None
        return LpQuote(provider, f"q-{provider}", hedge.side, hedge.currency, hedge.settlement, hedge.amount,
                       Decimal(price), NOW + timedelta(seconds=10))

    async def quote_all(self, hedge: HedgeOrder) -> list[LpQuote]:
        quotes = [quote for name in self.prices if (quote := await self.quote(name, hedge)) is not None]
        return sorted(quotes, key=lambda q: q.price, reverse=hedge.side == "SELL")


def context(venues: Venues, feed: dict[str, tuple[str, str, float]], *, off_hours: bool = False,
            **controls: object) -> ExecutionContext:
    """The venues' LPs as the providers, ``feed`` their snapshot as provider -> (bid, ask, age in seconds)."""
    return ExecutionContext(
        providers={name: ScriptedLp(name, Decimal("5"), trades_24x7=True) for name in venues.prices},
        snapshot={name: LpPrice(name, "USDC", "D0", Decimal(bid), Decimal(ask), NOW)
                  for name, (bid, ask, _) in feed.items()},
        snapshot_age_seconds={name: age for name, (_, _, age) in feed.items()},
        controls={**DEFAULT_CONTROLS, **controls},
        off_hours=off_hours,
        quote=venues.quote,
        quote_all=venues.quote_all,
    )


# --- off ------------------------------------------------------------------------------------


async def test_off_hedges_nothing_and_asks_no_lp() -> None:
    venues = Venues(nonco="5.1020")
    assert Off.hedges is False
    with pytest.raises(NoHedge, match="^exec_mode is off$"):
        await Off().choose_quote(order(), context(venues, {"nonco": ("5.1000", "5.1020", 1)}))
    assert venues.asked == []


# --- auto_best ------------------------------------------------------------------------------


@pytest.mark.parametrize(("nonco_ask", "horizon_ask", "cheapest"), [
    ("5.1020", "5.1010", "horizon"),
    ("5.1010", "5.1020", "nonco"),
])
async def test_auto_best_asks_only_the_cheapest_fresh_lp(nonco_ask: str, horizon_ask: str, cheapest: str) -> None:
    venues = Venues(nonco=nonco_ask, horizon=horizon_ask)
    feed = {"nonco": ("5.0990", nonco_ask, 1), "horizon": ("5.0980", horizon_ask, 2)}
    quote = await AutoBest().choose_quote(order(), context(venues, feed))
    assert (quote.provider, venues.asked) == (cheapest, [cheapest])


async def test_auto_best_sells_on_the_highest_bid() -> None:
    venues = Venues(nonco="5.0990", horizon="5.0980")
    # horizon's ask is the lower, nonco's bid the higher: a sale compares bids.
    feed = {"nonco": ("5.0990", "5.1030", 1), "horizon": ("5.0980", "5.1000", 1)}
    quote = await AutoBest().choose_quote(order("SELL"), context(venues, feed))
    assert (quote.provider, venues.asked) == ("nonco", ["nonco"])


@pytest.mark.parametrize("side", ["BUY", "SELL"])
async def test_auto_best_breaks_a_tie_by_provider_name(side: Side) -> None:
    for names in (("nonco", "horizon"), ("horizon", "nonco")):
        venues = Venues(**dict.fromkeys(names, "5.1000"))
        feed = dict.fromkeys(names, ("5.1000", "5.1000", 1.0))
        quote = await AutoBest().choose_quote(order(side), context(venues, feed))
        assert (quote.provider, venues.asked) == ("horizon", ["horizon"])


async def test_a_stale_snapshot_quotes_every_lp_and_takes_the_best() -> None:
    # The snapshot says nonco is cheaper; stale, it is not believed: horizon's tradable quote wins.
    venues = Venues(nonco="5.1030", horizon="5.1015")
    feed = {"nonco": ("5.0990", "5.1000", 10.5), "horizon": ("5.0980", "5.1020", 11)}
    quote = await AutoBest().choose_quote(order(), context(venues, feed))
    assert (quote.provider, quote.price, sorted(venues.asked)) == ("horizon", Decimal("5.1015"), ["horizon", "nonco"])


async def test_no_snapshot_at_all_quotes_every_lp() -> None:
    venues = Venues(nonco="5.1030", horizon="5.1015")
    quote = await AutoBest().choose_quote(order(), context(venues, {}))
    assert (quote.provider, sorted(venues.asked)) == ("horizon", ["horizon", "nonco"])


async def test_a_snapshot_exactly_ten_seconds_old_is_still_fresh() -> None:
    venues = Venues(nonco="5.1020", horizon="5.1010")
    feed = {"nonco": ("5.0990", "5.1020", 10), "horizon": ("5.0980", "5.1010", 10)}
    await AutoBest().choose_quote(order(), context(venues, feed))
    assert venues.asked == ["horizon"]


async def test_only_fresh_prices_choose_the_lp() -> None:
    venues = Venues(nonco="5.1020", horizon="5.1000")
    # horizon shows the lower ask, but its price is stale: nonco, fresh, is asked alone.
    feed = {"nonco": ("5.0990", "5.1020", 3), "horizon": ("5.0980", "5.1000", 30)}
    quote = await AutoBest().choose_quote(order(), context(venues, feed))
    assert (quote.provider, venues.asked) == ("nonco", ["nonco"])


async def test_an_lp_that_may_not_take_the_order_is_not_chosen() -> None:
    # "closed" (circuit open, or not trading at this hour) is in the snapshot but not a provider.
    venues = Venues(nonco="5.1020")
    feed = {"closed": ("5.0900", "5.0950", 1), "nonco": ("5.0990", "5.1020", 1)}
    quote = await AutoBest().choose_quote(order(), context(venues, feed))
    assert (quote.provider, venues.asked) == ("nonco", ["nonco"])


@pytest.mark.parametrize(("side", "tradable", "asked", "chosen"), [
    ("BUY", "5.2020", ["horizon"], "horizon"),  # 5.1000 × 1.02 exactly: still within
    ("BUY", "5.2021", ["horizon", "nonco", "horizon"], "nonco"),
    ("SELL", "4.9980", ["horizon"], "horizon"),  # 5.1000 × 0.98 exactly: still within
    ("SELL", "4.9979", ["horizon", "nonco", "horizon"], "nonco"),
])
async def test_a_quote_beyond_exec_comparison_pct_quotes_every_lp(
    side: Side, tradable: str, asked: list[str], chosen: str,
) -> None:
    venues = Venues(nonco="5.1500" if side == "BUY" else "5.0500", horizon=tradable)
    feed = {"nonco": ("5.0900", "5.1100", 1), "horizon": ("5.1000", "5.1000", 1)}
    quote = await AutoBest().choose_quote(order(side), context(venues, feed, exec_comparison_pct=Decimal("2")))
    assert (quote.provider, venues.asked) == (chosen, asked)


async def test_a_failed_single_quote_quotes_every_lp() -> None:
    venues = Venues(nonco=None, horizon="5.1030")
    feed = {"nonco": ("5.0990", "5.1010", 1), "horizon": ("5.0980", "5.1020", 1)}
    quote = await AutoBest().choose_quote(order(), context(venues, feed))
    assert (quote.provider, venues.asked) == ("horizon", ["nonco", "nonco", "horizon"])


async def test_auto_best_with_no_lp_quoting_does_not_hedge() -> None:
    venues = Venues(nonco=None, horizon=None)
    with pytest.raises(NoHedge, match="^no LP quoted$"):
        await AutoBest().choose_quote(order(), context(venues, {"nonco": ("5.0990", "5.1010", 1)}))


# --- auto_manual ----------------------------------------------------------------------------


async def test_auto_manual_always_uses_the_override() -> None:
    venues = Venues(nonco="5.1050", horizon="5.1000")
    feed = {"nonco": ("5.0990", "5.1050", 1), "horizon": ("5.0980", "5.1000", 1)}
    quote = await AutoManual().choose_quote(order(), context(venues, feed, exec_lp_override="nonco"))
    assert (quote.provider, venues.asked) == ("nonco", ["nonco"])


@pytest.mark.parametrize(("override", "prices", "reason"), [
    ("", {"nonco": "5.1000"}, "^exec_lp_override is empty$"),
    ("horizon", {"nonco": "5.1000"}, "^exec_lp_override 'horizon' is not available for USDC now"),
    ("nonco", {"nonco": None}, "^exec_lp_override 'nonco' did not quote$"),
])
async def test_auto_manual_without_a_usable_override_does_not_hedge(
    override: str, prices: dict[str, str | None], reason: str,
) -> None:
    venues = Venues(**prices)
    with pytest.raises(NoHedge, match=reason):
        await AutoManual().choose_quote(order(), context(venues, {}, exec_lp_override=override))
    assert venues.asked == (["nonco"] if override == "nonco" else [])


# --- off_market -----------------------------------------------------------------------------

OFF_HOURS_FEED = {"nonco": ("5.0950", "5.1000", 600), "horizon": ("5.0900", "5.1050", 900)}


@pytest.mark.parametrize(("side", "best", "accepted"), [
    ("BUY", "5.1051", True),  # best ask 5.1000 + 10 bps = 5.1051
    ("BUY", "5.1052", False),
    ("SELL", "5.0900", True),  # best bid 5.0950 − 10 bps = 5.089905
    ("SELL", "5.0899", False),
])
async def test_off_market_takes_the_best_quote_within_the_off_hours_spread(side: Side, best: str, accepted: bool) -> None:
    worse = "5.2000" if side == "BUY" else "5.0000"
    venues = Venues(nonco=worse, horizon=best)
    ctx = context(venues, OFF_HOURS_FEED, off_hours=True, exec_offhours_spread_pct=Decimal("10"))
    if accepted:
        quote = await OffMarket().choose_quote(order(side), ctx)
        assert (quote.provider, quote.price) == ("horizon", Decimal(best))
    else:
        with pytest.raises(NoHedge) as refusal:
            await OffMarket().choose_quote(order(side), ctx)
        reference = "5.1000" if side == "BUY" else "5.0950"
        assert f"best quote {Decimal(best)} (horizon)" in str(refusal.value)
        assert f"best indicative {reference} (nonco)" in str(refusal.value)
    assert sorted(venues.asked) == ["horizon", "nonco"]


async def test_off_market_without_a_snapshot_takes_the_best_quote() -> None:
    venues = Venues(nonco="5.3000", horizon="5.2000")
    quote = await OffMarket().choose_quote(order(), context(venues, {}, off_hours=True))
    assert quote.provider == "horizon"


async def test_off_market_with_no_lp_quoting_does_not_hedge() -> None:
    with pytest.raises(NoHedge, match="^no LP quoted$"):
        await OffMarket().choose_quote(order(), context(Venues(nonco=None), OFF_HOURS_FEED, off_hours=True))


# --- registration ---------------------------------------------------------------------------


class NamedMode(ExecutionStrategy):
    """An outside plugin's mode; only its name matters here."""

    def __init__(self, name: str) -> None:
        self.name = name

    async def choose_quote(self, order: HedgeOrder, context: ExecutionContext) -> LpQuote:
        raise NoHedge("a test mode")


def mode_plugin(name: str, mode: str = "twap_test") -> types.ModuleType:
    """An outside plugin module registering one execution mode named ``mode``."""

    @hookimpl
    def otc_execution_strategies(config: object) -> list[ExecutionStrategy]:
        return [NamedMode(mode)]

    module = types.ModuleType(name)
    module.otc_execution_strategies = otc_execution_strategies
    return module


def config_enabling(*names: str) -> DeploymentConfig:
    return make_config("sqlite:///tmp/unused.sqlite3", plugins={"enabled": list(names)})


def exec_mode(host: PluginHost) -> ControlDefinition:
    return next(c for c in host.controls() if c.key == "exec_mode")


def test_the_built_in_modes_are_registered_and_not_an_enabled_plugin() -> None:
    host = build_plugin_host(config_enabling(), env={})
    assert list(host.execution_strategies()) == BUILT_IN_MODES
    assert host.enabled == [] and host.masked_configs() == {}
    catalog = next(c for c in CORE_CONTROLS if c.key == "exec_mode")
    assert exec_mode(host) == catalog


def test_exec_mode_accepts_a_plugins_mode_and_refuses_an_unregistered_one() -> None:
    host = build_plugin_host(config_enabling("twap"), modules={"twap": mode_plugin("twap")}, env={})
    definition = exec_mode(host)
    assert definition.choices == (*BUILT_IN_MODES, "twap_test")
    assert definition.parse("twap_test") == "twap_test"
    with pytest.raises(ValidationFailed, match="exec_mode: expected one of"):
        definition.parse("nobody_registered")


@pytest.mark.parametrize(("mode", "first"), [("twap_test", "first"), ("auto_best", "builtin_execution_modes")])
def test_two_plugins_registering_one_mode_stop_start_up(mode: str, first: str) -> None:
    config = config_enabling("first", "second")
    host = build_plugin_host(
        config, modules={"first": mode_plugin("first"), "second": mode_plugin("second", mode)}, env={},
    )
    with pytest.raises(ConfigError, match=f"^plugin second: exec_mode '{mode}' is already registered by {first}$"):
        create_app(config, host, unique_name=True)
