"""What one worker process holds open, from start to stop.

The same object serves the Sanic app (``app.ctx.runtime``, opened in a listener), the CLI
and the benchmark, so nothing about start-up order lives in web code.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import cast
from zoneinfo import ZoneInfo

import httpx

from otc_framework.admin.access import Backoffice
from otc_framework.admin.feed import AdminFeed
from otc_framework.alerts import dispatcher as alert_delivery
from otc_framework.alerts.dispatcher import AlertDispatcher
from otc_framework.alerts.service import AlertService
from otc_framework.auth.tokens import TokenService
from otc_framework.bot import engine as bot_timers
from otc_framework.bot import outbox as chat_delivery
from otc_framework.bot.engine import BotEngine
from otc_framework.bot.outbox import ChatDelivery
from otc_framework.config import DeploymentConfig
from otc_framework.controls import CORE_CONTROLS
from otc_framework.execution import engine as execution
from otc_framework.execution.breaker import CircuitBreakers
from otc_framework.execution.engine import ExecutionEngine
from otc_framework.execution.recorder import HedgeRecorder
from otc_framework.execution.wakeup import Wakeup
from otc_framework.liquidity import LpFeed, LpPoller
from otc_framework.liquidity import poller as lp_polling
from otc_framework.plugins import PluginHost
from otc_framework.ports import AlertSink, Channel, LiquidityProvider, SpotSource
from otc_framework.pricing.lp_reference import LpQuoteReference
from otc_framework.pricing.pipeline import PricingPipeline
from otc_framework.pricing.reference_price import SpotReference
from otc_framework.pricing.stream import (
    TICK_INTERVAL_SECONDS,
    TICKER_LEASE,
    PriceFanout,
    PriceTicker,
)
from otc_framework.reference import ReferenceCache
from otc_framework.risk import ExposurePublisher, ExposureWatch, RiskLimits
from otc_framework.risk import publisher as risk_publishing
from otc_framework.runtime.leased_loop import LEASE_TTL_SECONDS, LeasedLoop
from otc_framework.sessions.service import TradingDesk
from otc_framework.spot import SpotFeed, SpotPoller
from otc_framework.storage.database import close_database, open_database
from otc_framework.storage.store import Store, open_store

log = logging.getLogger(__name__)

SPOT_LEASE = "loop:spot-poller"
_SPOT_MAX_AGE_DEFAULT = next(int(str(c.default)) for c in CORE_CONTROLS if c.key == "spot_max_age_seconds")


class Runtime:
    def __init__(self, config: DeploymentConfig, plugins: PluginHost) -> None:
        self.config = config
        self.plugins = plugins
        self.store: Store | None = None
        self.http: httpx.AsyncClient | None = None
        self.spot_sources: list[SpotSource] = []
        self.spot_feed: SpotFeed | None = None
        self.spot_loop: LeasedLoop | None = None
        self.liquidity_providers: list[LiquidityProvider] = []
        self.lp_feed: LpFeed | None = None
        self.lp_poller: LpPoller | None = None
        self.lp_loop: LeasedLoop | None = None
        self.controls = plugins.controls()
        self.control_definitions = {d.key: d for d in self.controls}
        secret = config.auth.jwt_secret
        # Outside the demo the config refuses to load without a secret; the demo gets a
        # per-process one when none was given (its tokens die with it).
        self.tokens = TokenService(
            secret.get_secret_value() if secret else secrets.token_urlsafe(32), config.auth.token_ttl_hours
        )
        self.reference: ReferenceCache | None = None
        self.pricing: PricingPipeline | None = None
        self.desk: TradingDesk | None = None
        self.feed: AdminFeed | None = None
        self.backoffice: Backoffice | None = None
        self.price_ticker: PriceTicker | None = None
        self.price_loop: LeasedLoop | None = None
        self.price_fanout: PriceFanout | None = None
        self.alert_sinks: list[AlertSink] = []
        self.alert_fingerprints: dict[str, str] = {}
        self.alerts: AlertService | None = None
        self.alert_dispatcher: AlertDispatcher | None = None
        self.alert_loop: LeasedLoop | None = None
        self.strategies = plugins.execution_strategies()
        self.breakers: CircuitBreakers | None = None
        self.hedges: HedgeRecorder | None = None
        self.engine: ExecutionEngine | None = None
        self.engine_loop: LeasedLoop | None = None
        self.engine_wakeup: Wakeup | None = None
        self.exposure_watch: ExposureWatch | None = None
        self.risk_limits: RiskLimits | None = None
        self.risk_loop: LeasedLoop | None = None
        self.channels: list[Channel] = []
        self.bot: BotEngine | None = None
        self.bot_loop: LeasedLoop | None = None
        self.chat_delivery: ChatDelivery | None = None
        self.chat_loop: LeasedLoop | None = None

    @property
    def leased_loops(self) -> list[LeasedLoop]:
        """Every background loop this worker runs under a lease (tick retention runs in the LP loop)."""
        loops = (self.spot_loop, self.lp_loop, self.risk_loop, self.engine_loop, self.bot_loop, self.chat_loop,
                 self.alert_loop, self.price_loop)
        return [loop for loop in loops if loop is not None]

    async def spot_max_age_seconds(self) -> int:
        """The live control; its default when the store or the database cannot say (the
        health report must answer exactly then)."""
        try:
            assert self.reference is not None
            reference, _ = await asyncio.wait_for(self.reference.current(), 1.0)
            return reference.controls.integer("spot_max_age_seconds")
        except Exception:
            return _SPOT_MAX_AGE_DEFAULT

    async def start(self) -> None:
        await open_database(self.config.database.url.get_secret_value())
        self.store = open_store(
            self.config.store.url.get_secret_value(),
            namespace=self.config.store.namespace,
            workers=self.config.server.workers,
        )
        self.http = httpx.AsyncClient(timeout=httpx.Timeout(5.0), follow_redirects=False)
        self.spot_sources = self.plugins.spot_sources(self.http)
        self.spot_feed = SpotFeed(self.store, [s.name for s in self.spot_sources])
        await self.spot_feed.start()
        self.reference = ReferenceCache(self.store, self.controls, self.config.market_hours)
        self.feed = AdminFeed(self.store)
        self.feed.start()
        self._start_alerts()
        assert self.alerts is not None
        await self._start_lp_feed()
        assert self.lp_feed is not None
        spot = SpotReference(self.spot_feed, self.config.pricing)
        self.pricing = PricingPipeline(LpQuoteReference(spot, self.lp_feed, self.alerts, self.feed))
        await self._start_risk()
        assert self.risk_limits is not None
        self.desk = TradingDesk(
            self.store, self.pricing, self.config.rate_limits, self.plugins.hook.otc_closing_created, self.feed,
            self.alerts, hedging_modes=[name for name, mode in self.strategies.items() if mode.hedges],
            risk=self.risk_limits,
        )
        self.backoffice = Backoffice(self.store, self.reference, self.feed, self.plugins.hook, self.control_definitions)
        await self._start_price_stream()
        await self._start_execution()
        self._start_bot()
        poller = SpotPoller(self.spot_sources, self.store, notify=self.plugins.hook.otc_spot_status_changed,
                            alerts=self.alerts, critical=frozenset({self.config.pricing.spot_source}))
        interval = self.config.spot.poll_interval_seconds
        self.spot_loop = LeasedLoop(
            self.store, SPOT_LEASE, poller.poll_all, interval=interval,
            lease_ttl=max(LEASE_TTL_SECONDS, interval + 2.0)
        )
        self.spot_loop.start()

    async def _start_lp_feed(self) -> None:
        """Every worker keeps the latest LP prices; one process per deployment polls them."""
        assert self.store is not None and self.http is not None
        assert self.reference is not None and self.feed is not None
        self.liquidity_providers = self.plugins.liquidity_providers(self.http)
        self.lp_feed = LpFeed(self.store, [p.name for p in self.liquidity_providers])
        await self.lp_feed.start()
        self.lp_poller = LpPoller(self.liquidity_providers, self.store, self.reference, self.feed,
                                  self.config.lp_feed)
        self.lp_loop = LeasedLoop(
            self.store, lp_polling.LEASE, self.lp_poller.step,
            interval=lp_polling.TURN_SECONDS,
        )
        self.lp_loop.start()

    async def _start_risk(self) -> None:
        """Every worker follows the open exposure for its quotes; one process per deployment computes it."""
        assert self.store is not None and self.alerts is not None
        self.exposure_watch = ExposureWatch(self.store)
        await self.exposure_watch.start()
        self.risk_limits = RiskLimits(self.exposure_watch, self.alerts, ZoneInfo(self.config.market_hours.timezone))
        self.risk_loop = LeasedLoop(
            self.store, risk_publishing.LEASE, ExposurePublisher(self.store).step,
            interval=risk_publishing.TURN_SECONDS,
        )
        self.risk_loop.start()

    async def _start_execution(self) -> None:
        """Every worker records hedge changes; one process per deployment drives hedges."""
        assert self.store is not None and self.reference is not None and self.lp_feed is not None
        assert self.feed is not None and self.alerts is not None
        config = self.config.execution
        self.breakers = CircuitBreakers(self.store, [p.name for p in self.liquidity_providers], self.alerts,
                                        failures=config.breaker_failures, cooldown=config.breaker_cooldown_seconds)
        self.hedges = HedgeRecorder(self.feed, self.plugins.hook.otc_hedge_recorded, self.alerts)
        self.engine = ExecutionEngine(self.liquidity_providers, self.strategies, self.reference, self.lp_feed,
                                      self.hedges, self.breakers, config)
        self.engine_loop = LeasedLoop(
            self.store, execution.LEASE, self.engine.step, interval=execution.TURN_SECONDS, on_taken=self.engine.lease_taken,
            wake_gap=execution.WAKE_GAP_SECONDS,
        )
        self.engine.wake = self.engine_loop.wake
        self.engine_wakeup = Wakeup(self.store, self.engine_loop.wake)
        await self.engine_wakeup.start()
        self.engine_loop.start()

    def _start_bot(self) -> None:
        """Every worker takes chat commands; one process per deployment drives the sessions'
        timed steps, and one sends the replies. Without a chat channel there is nothing to drive."""
        assert self.store is not None and self.http is not None and self.reference is not None
        assert self.pricing is not None and self.desk is not None and self.feed is not None
        self.channels = self.plugins.channels(self.http)
        self.bot = BotEngine(self.store, self.reference, self.pricing, self.desk, self.feed, self.config.bot,
                             ZoneInfo(self.config.market_hours.timezone))
        if not self.channels:
            return
        self.bot_loop = LeasedLoop(self.store, bot_timers.LEASE, self.bot.step, interval=bot_timers.TURN_SECONDS)
        self.chat_delivery = ChatDelivery(self.channels, self.store, self.config.bot, self.alerts)
        self.chat_loop = LeasedLoop(self.store, chat_delivery.LEASE, self.chat_delivery.step,
                                    interval=chat_delivery.INTERVAL_SECONDS)
        self.bot.session_started = self.bot_loop.wake
        self.bot.replies_queued = self.chat_loop.wake
        self.bot_loop.start()
        self.chat_loop.start()

    def _start_alerts(self) -> None:
        """Every worker raises alerts; one process per deployment delivers them."""
        assert self.store is not None and self.http is not None and self.feed is not None
        found = self.plugins.alert_sinks(self.http)
        self.alert_sinks = [sink for sink, _ in found]
        self.alert_fingerprints = {sink.name: fingerprint for sink, fingerprint in found}
        self.config.alerts.check_sinks(self.alert_fingerprints)
        self.alerts = AlertService(self.store, self.feed, self.config.alerts, list(self.alert_fingerprints))
        self.alert_dispatcher = AlertDispatcher(self.alert_sinks, self.store, self.config.alerts,
                                                self.alert_fingerprints)
        self.alert_loop = LeasedLoop(
            self.store, alert_delivery.LEASE, self.alert_dispatcher.step,
            interval=alert_delivery.INTERVAL_SECONDS,
        )
        self.alert_loop.start()

    async def _start_price_stream(self) -> None:
        """Every worker fans ticks out to its sockets; one process per deployment computes them."""
        assert self.store is not None and self.reference is not None and self.pricing is not None
        self.price_fanout = PriceFanout(self.store)
        await self.price_fanout.start()
        self.price_ticker = PriceTicker(self.store, self.reference, self.pricing)
        self.price_loop = LeasedLoop(
            self.store, TICKER_LEASE, self.price_ticker.tick,
            interval=TICK_INTERVAL_SECONDS,
        )
        self.price_loop.start()

    async def hand_over(self, grace: float) -> None:
        """Give every lease up now (a drain): each loop's step under way gets ``grace`` seconds."""
        await asyncio.gather(*(loop.stop(grace) for loop in self.leased_loops))

    async def stop(self) -> None:
        """Stop everything that started, in order; a step that fails is logged and the rest still
        run, so the database and the store are always closed (a worker that cannot flush its
        last LP ticks must not leak its connections)."""
        adapters: list[SpotSource | AlertSink | LiquidityProvider | Channel] = [
            *self.spot_sources, *self.liquidity_providers, *self.alert_sinks, *self.channels]
        steps: list[tuple[str, Callable[[], Awaitable[object]] | None]] = [
            # A session's next step waits in the store for the next holder of the lease.
            ("bot loop", _method(self.bot_loop, "stop")),
            ("chat loop", _method(self.chat_loop, "stop")),
            ("chat delivery", _method(self.chat_delivery, "stop")),
            ("execution loop", _method(self.engine_loop, "stop")),
            # Orders cut off here stay ``executing``; the next holder of the lease reconciles them.
            ("execution", _method(self.engine, "stop")),
            ("execution wakeup", _method(self.engine_wakeup, "stop")),
            ("price loop", _method(self.price_loop, "stop")),
            ("price fanout", _method(self.price_fanout, "stop")),
            ("spot loop", _method(self.spot_loop, "stop")),
            ("spot feed", _method(self.spot_feed, "stop")),
            ("lp loop", _method(self.lp_loop, "stop")),
            # What this process buffered, before the database closes.
            ("lp ticks", _method(self.lp_poller and self.lp_poller.ticks, "flush")),
            ("lp feed", _method(self.lp_feed, "stop")),
            ("risk loop", _method(self.risk_loop, "stop")),
            ("exposure watch", _method(self.exposure_watch, "stop")),
            ("alert loop", _method(self.alert_loop, "stop")),
            ("alert delivery", _method(self.alert_dispatcher, "stop")),
            ("alerts", _method(self.alerts, "stop")),
            ("admin feed", _method(self.feed, "stop")),
            *((f"adapter {adapter.name}", adapter.aclose) for adapter in adapters),
            ("http", _method(self.http, "aclose")),
            ("store", _method(self.store, "close")),
            ("database", close_database),
        ]
        for name, step in steps:
            if step is None:
                continue
            try:
                await step()
            except Exception:
                log.exception("a step of stopping failed", extra={"step": name})


def _method(owner: object | None, name: str) -> Callable[[], Awaitable[object]] | None:
    """``owner.name`` when ``owner`` was started (is not ``None``)."""
    return None if owner is None else cast(Callable[[], Awaitable[object]], getattr(owner, name))
