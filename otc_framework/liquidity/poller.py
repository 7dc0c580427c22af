"""Polls every enabled LP's indicative prices; the step of one leased loop per deployment.

A ``LeasedLoop`` turns at a fixed interval, but the polling interval is the live control
``exec_poll_interval_ms``: the loop turns every ``TURN_SECONDS`` (the control's minimum) and
a turn polls only once the control's interval has passed since the last poll, so a change
applies within one turn, in whichever process holds the lease, with no restart.

What is polled (SPEC §10): USDC D0/D1/D2 of every LP, plus USDT D0 of ``nonco`` when
``lp_feed_nonco_usdt_enabled``. Off-hours (the reference calendar says closed) nothing is
polled unless ``lp_feed_enable_24x7``, and then only LPs that trade 24/7. The second spot
reference (Binance) is the spot poller's: it is not polled again here.

Each provider's outcome is published to every worker's ``LpFeed`` and kept as its last state;
a provider that fails keeps its last good prices (ageing) with its error, as spot sources do.
Each price also goes on the admin stream (``lp.tick``) and into ``spot_ticks`` in batches
(``persistence``), whose old rows are deleted under the same lease.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

from otc_framework.admin.feed import AdminFeed, EventType
from otc_framework.config import LpFeedConfig
from otc_framework.errors import VenueError, VenueRateLimited
from otc_framework.liquidity.codec import encode_event, instrument, price_to_dict
from otc_framework.liquidity.feed import CHANNEL, last_key
from otc_framework.liquidity.persistence import TickWriter
from otc_framework.ports import Currency, LiquidityProvider, LpPrice, Settlement
from otc_framework.reference import Reference, ReferenceCache
from otc_framework.storage.store import Store

log = logging.getLogger(__name__)

LEASE = "loop:lp-feed"
TURN_SECONDS = 0.25  # the minimum of exec_poll_interval_ms
# A turn waits for its slowest read: bounded (the lease is renewed meanwhile).
READ_TIMEOUT_SECONDS = 5.0
# The last state outlives a dead poller long enough to show how old the prices are.
LAST_STATE_TTL_SECONDS = 24 * 3600
NONCO = "nonco"

Pair = tuple[Currency, Settlement]
USDC_PAIRS: tuple[Pair, ...] = (("USDC", "D0"), ("USDC", "D1"), ("USDC", "D2"))
NONCO_USDT: Pair = ("USDT", "D0")


class LpPoller:
    def __init__(
        self,
        providers: Sequence[LiquidityProvider],
        store: Store,
        reference: ReferenceCache,
        admin: AdminFeed,
        config: LpFeedConfig,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.providers = list(providers)
        self.store = store
        self.reference = reference
        self.admin = admin
        self.clock = clock
        self.ticks = TickWriter([p.name for p in self.providers], config)
        self._polled_at: datetime | None = None
        self._retry_at: dict[str, datetime] = {}
        self._last_good: dict[str, dict[Pair, LpPrice]] = {}

    async def step(self) -> None:
        """One loop turn: poll when due, then write buffered ticks and clean old ones when due."""
        if not self.providers:
            return
        now = self.clock()
        reference, _ = await self.reference.current()
        interval = timedelta(milliseconds=reference.controls.integer("exec_poll_interval_ms"))
        if self._polled_at is None or now - self._polled_at >= interval:
            self._polled_at = now
            await asyncio.gather(*(self.poll(p, pairs, now) for p, pairs in self.plan(reference, now)))
        await self.ticks.flush_if_due(now)
        await self.ticks.clean_if_due(now)

    def plan(self, reference: Reference, now: datetime) -> list[tuple[LiquidityProvider, list[Pair]]]:
        """Which providers to poll now, and for what."""
        controls = reference.controls
        market_open = reference.calendar.is_open(now)
        if not market_open and not controls.flag("lp_feed_enable_24x7"):
            return []
        with_usdt = controls.flag("lp_feed_nonco_usdt_enabled")
        plan = []
        for provider in self.providers:
            if not market_open and not provider.trades_24x7:
                continue
            retry_at = self._retry_at.get(provider.name)
            if retry_at is not None and now < retry_at:
                continue
            pairs = list(USDC_PAIRS)
            if with_usdt and provider.name == NONCO:
                pairs.append(NONCO_USDT)
            plan.append((provider, pairs))
        return plan

    async def poll(self, provider: LiquidityProvider, pairs: Sequence[Pair], now: datetime) -> None:
        results = await asyncio.gather(*(self._read(provider, c, s, now) for c, s in pairs))
        prices = [r for r in results if isinstance(r, LpPrice)]
        errors = [r for r in results if isinstance(r, str)]
        error = errors[0] if errors else None
        last = self._last_good.setdefault(provider.name, {})
        for price in prices:
            last[(price.currency, price.settlement)] = price
        # Workers keep their last good prices when a read fails; the stored state must too, so
        # a worker starting during an outage still sees how old the last price is.
        await self.store.set(last_key(provider.name), encode_event(provider.name, list(last.values()), error, now),
                             LAST_STATE_TTL_SECONDS)
        await self.store.publish(CHANNEL, encode_event(provider.name, prices, error, now))
        for price in prices:
            self.admin.emit(EventType.LP_TICK, price_to_dict(price))
            self.ticks.add(price, now)

    async def _read(self, provider: LiquidityProvider, currency: Currency, settlement: Settlement,
                    now: datetime) -> LpPrice | str:
        """The price, or why there is none (prefixed with the instrument)."""
        name = instrument(currency, settlement)
        try:
            price = await asyncio.wait_for(provider.get_price(currency, settlement), READ_TIMEOUT_SECONDS)
        except TimeoutError:
            return f"{name}: no answer within {READ_TIMEOUT_SECONDS:g} s"
        except VenueRateLimited as exc:
            self._retry_at[provider.name] = now + timedelta(seconds=exc.retry_after)
            return f"{name}: {exc.message}"
        except VenueError as exc:
            return f"{name}: {exc.message}"
        except Exception as exc:  # an adapter bug must not stop the other providers
            log.exception("liquidity provider raised an unexpected error", extra={"provider": provider.name})
            return f"{name}: unexpected {type(exc).__name__}"
        if (price.provider, price.currency, price.settlement) != (provider.name, currency, settlement):
            return f"{name}: the provider answered for {price.provider} {instrument(price.currency, price.settlement)}"
        return price
