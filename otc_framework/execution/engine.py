"""The execution engine (SPEC §10): every pending hedge driven to filled, exactly once.

It is the step of a leased loop, so one process per deployment runs it; the loop is woken as
soon as a closing commits (the admin stream says so) and polls as a fallback. Each turn:

1. When the lease was just taken (start-up, or another process died), every hedge not final
   is reconciled first: ``quoting`` goes back to ``pending`` (nothing that can fill was sent),
   ``executing`` becomes ``unknown`` (the order may have left), and every unknown outcome is
   asked of the venue before any new hedge starts.
2. Unknown outcomes whose next look is due are asked of the venue (``lookup_order``).
3. While ``exec_mode`` is a mode that hedges, pending hedges are claimed and worked, up to
   ``[execution] concurrency`` at once, each in its own task so a slow venue never holds the
   lease's renewal.

Working a hedge: ``pending → quoting`` (its venue order id, derived from the hedge id and the
attempt, is stored with the claim) → the mode's strategy picks a tradable quote → ``executing``
(provider and quote stored *before* the order is sent) → ``filled`` with every execution
recorded, or ``failed`` when the venue refused it (nothing executed), or ``unknown`` when no
answer came: that hedge is never sent again, only looked up, until the venue says it filled
(``filled``), refused it or never got it (``failed``, after its quote could no longer fill).
A hedge above ``exec_max_order_amount`` is ``held`` for an operator instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from otc_framework.config import ExecutionConfig
from otc_framework.errors import VenuePartialFill, VenueRefused
from otc_framework.execution import repository
from otc_framework.execution.breaker import CircuitBreakers
from otc_framework.execution.recorder import HedgeRecorder
from otc_framework.execution.repository import Audit
from otc_framework.liquidity.feed import LpFeed
from otc_framework.ports import (
    ExecutionContext,
    ExecutionStrategy,
    HedgeOrder,
    LiquidityProvider,
    LpFill,
    LpQuote,
    NoHedge,
    OrderState,
)
from otc_framework.reference import ReferenceCache
from otc_framework.storage.models import Hedge, HedgeStatus
from otc_framework.tasks import cancel_and_wait
from otc_framework.venue_answers import one_line

log = logging.getLogger(__name__)

LEASE = "loop:execution"
TURN_SECONDS = 1.0
# Woken by every committed closing: under load, one turn serves the closings of this long
# (docs/decisions.md, "Performance"), a hedge starting at most this much later.
WAKE_GAP_SECONDS = 0.05
# A venue call the adapter's own timeouts failed to end (a chunked order is several calls).
VENUE_CALL_SECONDS = 60.0
STOP_GRACE_SECONDS = 5.0


def _now() -> datetime:
    return datetime.now(UTC)


def _text(exc: BaseException) -> str:
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return one_line(f"{type(exc).__name__}: {message}", 300)


def best_first(quotes: Sequence[LpQuote], side: str) -> list[LpQuote]:
    """Cheapest first for a buy, dearest first for a sell; ties in provider order."""
    ordered = sorted(quotes, key=lambda q: q.provider)
    return sorted(ordered, key=lambda q: q.price, reverse=side != "BUY")


class ExecutionEngine:
    def __init__(
        self, providers: Sequence[LiquidityProvider], strategies: Mapping[str, ExecutionStrategy],
        reference: ReferenceCache, lp_feed: LpFeed, recorder: HedgeRecorder, breakers: CircuitBreakers,
        config: ExecutionConfig,
    ) -> None:
        self.providers = {p.name: p for p in providers}
        self.strategies = dict(strategies)
        self.reference = reference
        self.lp_feed = lp_feed
        self.recorder = recorder
        self.breakers = breakers
        self.config = config
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._reconciled = False
        # Asks for the next turn now (the runtime points it at its loop's ``wake``): a hedge
        # done frees room, and a backlog must not wait a whole poll interval per batch.
        self.wake: Callable[[], None] = lambda: None

    # -- the loop's hooks ------------------------------------------------------------------

    def lease_taken(self) -> None:
        """Before anything else, the next step reconciles every hedge not final."""
        self._reconciled = False

    async def step(self) -> None:
        reference, _ = await self.reference.current()
        controls = dict(reference.controls.items())
        if not self._reconciled:
            await self.reconcile()
            self._reconciled = True
        for hedge in await repository.due_checks(_now(), self._room()):
            if str(hedge.id) not in self._tasks:  # its last look may still be out
                self._spawn(hedge, self._check(hedge))
        strategy = self.strategies.get(str(controls["exec_mode"]))
        if strategy is None or not strategy.hedges:
            return  # dormant: pending hedges wait for a mode that hedges
        room = self._room()
        if room:
            for hedge in await repository.claim_pending(room):
                self._spawn(hedge, self._work(hedge, strategy, controls, reference.calendar.is_open(_now())))

    async def stop(self) -> None:
        """Let the hedges in flight finish for a moment, then cancel the rest: an order cut off
        mid-call stays ``executing`` and the next holder of the lease reconciles it."""
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=STOP_GRACE_SECONDS)
        for task in list(self._tasks.values()):
            await cancel_and_wait(task)
        self._tasks.clear()

    async def drain(self) -> None:
        """Wait for the hedges in flight (tests step engines by hand)."""
        while self._tasks:
            await asyncio.wait(list(self._tasks.values()))

    def _room(self) -> int:
        return max(0, self.config.concurrency - len(self._tasks))

    def _spawn(self, hedge: Hedge, work: Any) -> None:
        key = str(hedge.id)
        task = asyncio.create_task(work, name=f"hedge:{key}")
        self._tasks[key] = task
        task.add_done_callback(lambda done: self._done(key, done))

    def _done(self, key: str, task: asyncio.Task[None]) -> None:
        if self._tasks.get(key) is task:
            del self._tasks[key]
        self.wake()

    # -- reconciliation --------------------------------------------------------------------

    async def reconcile(self) -> None:
        """Every hedge not final, as the lease's new holder finds it (module docstring, 1)."""
        unknown: list[Hedge] = []
        for hedge in await repository.in_flight():
            if str(hedge.id) in self._tasks:
                continue  # this process is still working it
            if hedge.status is HedgeStatus.QUOTING:
                moved = await repository.transition(hedge.id, [HedgeStatus.QUOTING], HedgeStatus.PENDING,
                                                    reason="the engine stopped while quoting; nothing was sent")
                if moved is not None:
                    self.recorder.changed(moved)
                continue
            if hedge.status is HedgeStatus.EXECUTING:
                moved = await repository.transition(
                    hedge.id, [HedgeStatus.EXECUTING], HedgeStatus.UNKNOWN, Audit("hedge.unknown"),
                    reason="the engine stopped while the order was out; asking the venue", next_check_at=_now(),
                )
                if moved is None:
                    continue
                self.recorder.changed(moved)
                hedge = moved
            unknown.append(hedge)
        limit = asyncio.Semaphore(self.config.concurrency)

        async def check(hedge: Hedge) -> None:
            async with limit:
                await self._check(hedge)

        await asyncio.gather(*(check(h) for h in unknown))

    async def _check(self, hedge: Hedge) -> None:
        """Ask the venue what became of an unknown outcome; never send it again."""
        provider = self.providers.get(hedge.provider or "")
        order_id = cast(str, hedge.client_order_id)
        if provider is None:
            await self._check_later(hedge, f"LP {hedge.provider} is not enabled here; cannot ask it")
            return
        try:
            lookup = await asyncio.wait_for(provider.lookup_order(order_id), VENUE_CALL_SECONDS)
        except Exception as exc:
            await self._check_later(hedge, f"lookup failed: {_text(exc)}")
            return
        if lookup.state is OrderState.FILLED and lookup.fill is not None:
            hedge, filled = await self._record(hedge, provider.name, lookup.fill, "reconciled from the venue")
            if filled or hedge.status is not HedgeStatus.UNKNOWN:
                return
            if self._may_still_fill(hedge):
                await self._check_later(hedge, f"the venue filled {hedge.filled_amount} so far")
                return
            await self._fail(hedge, [HedgeStatus.UNKNOWN],
                             f"the venue filled {hedge.filled_amount} of {hedge.amount}; the rest never executed")
        elif lookup.state is OrderState.REJECTED:
            await self._fail(hedge, [HedgeStatus.UNKNOWN], f"the venue rejected the order: {lookup.detail or '-'}")
        elif lookup.state is OrderState.NOT_FOUND and not self._may_still_fill(hedge):
            await self._fail(hedge, [HedgeStatus.UNKNOWN], "the venue never received the order")
        else:
            await self._check_later(hedge, f"the venue says {lookup.state.value}")

    def _may_still_fill(self, hedge: Hedge) -> bool:
        """An order in flight may still reach the venue until its quote expires (plus a grace)."""
        if hedge.quote_valid_until is None:
            return False
        grace = timedelta(seconds=self.config.not_found_grace_seconds)
        return _now() < hedge.quote_valid_until + grace

    async def _check_later(self, hedge: Hedge, reason: str) -> None:
        delay = min(self.config.check_first_seconds * 2 ** hedge.checks, self.config.check_max_seconds)
        await repository.transition(
            hedge.id, [HedgeStatus.UNKNOWN], HedgeStatus.UNKNOWN, reason=reason, checks=hedge.checks + 1,
            next_check_at=_now() + timedelta(seconds=delay),
        )

    # -- working a hedge -------------------------------------------------------------------

    async def _work(self, hedge: Hedge, strategy: ExecutionStrategy, controls: dict[str, Any], open_now: bool) -> None:
        remaining = hedge.amount - hedge.filled_amount
        ceiling = Decimal(controls["exec_max_order_amount"])
        if ceiling > 0 and remaining > ceiling and not hedge.released_by:
            held = await repository.transition(
                hedge.id, [HedgeStatus.QUOTING], HedgeStatus.HELD,
                reason=f"{remaining.normalize():f} is above exec_max_order_amount {ceiling.normalize():f}",
            )
            if held is not None:
                self.recorder.changed(held)
            return
        self.recorder.changed(hedge)
        order = HedgeOrder(
            hedge_id=str(hedge.id), closing_id=str(hedge.closing_id), side=hedge.side.value,
            currency=hedge.currency.value, settlement=hedge.settlement.value,
            amount=remaining, client_price=hedge.client_price,
        )
        try:
            quote = await strategy.choose_quote(order, self._context(order, controls, open_now))
        except NoHedge as exc:
            await self._fail(hedge, [HedgeStatus.QUOTING], f"{strategy.name}: {exc}")
            return
        except Exception as exc:
            log.exception("execution strategy failed", extra={"mode": strategy.name, "hedge": str(hedge.id)})
            await self._fail(hedge, [HedgeStatus.QUOTING], f"{strategy.name} failed: {_text(exc)}")
            return
        sending = await repository.transition(
            hedge.id, [HedgeStatus.QUOTING], HedgeStatus.EXECUTING, provider=quote.provider, quote_id=quote.quote_id,
            quote_price=quote.price, quote_valid_until=quote.valid_until,
        )
        if sending is None:
            return
        self.recorder.changed(sending)
        await self._execute(sending, self.providers[quote.provider], quote)

    async def _execute(self, hedge: Hedge, provider: LiquidityProvider, quote: LpQuote) -> None:
        order_id = cast(str, hedge.client_order_id)
        try:
            fill = await asyncio.wait_for(provider.execute_quote(quote, order_id), VENUE_CALL_SECONDS)
        except VenueRefused as exc:
            await self.breakers.failed(provider.name, _text(exc))
            await self._fail(hedge, [HedgeStatus.EXECUTING], f"refused by {provider.name}: {exc.message}")
            return
        except VenuePartialFill as exc:
            await self.breakers.failed(provider.name, _text(exc))
            hedge, _ = await self._record(hedge, provider.name, cast(LpFill, exc.filled), "partial fill")
            await self._fail(hedge, [HedgeStatus.EXECUTING], f"partial fill on {provider.name}: {exc.message}")
            return
        except Exception as exc:  # no answer, or one we cannot trust: ask, never re-send
            await self.breakers.failed(provider.name, _text(exc))
            unknown = await repository.transition(
                hedge.id, [HedgeStatus.EXECUTING], HedgeStatus.UNKNOWN, Audit("hedge.unknown"),
                reason=f"no answer from {provider.name}: {_text(exc)}",
                next_check_at=_now() + timedelta(seconds=self.config.check_first_seconds),
            )
            if unknown is not None:
                self.recorder.changed(unknown)
            return
        await self.breakers.succeeded(provider.name)
        hedge, filled = await self._record(hedge, provider.name, fill, "filled")
        if not filled and hedge.status is HedgeStatus.EXECUTING:
            await self._fail(hedge, [HedgeStatus.EXECUTING],
                             f"{provider.name} filled {hedge.filled_amount} of {hedge.amount}")

    async def _record(self, hedge: Hedge, provider: str, fill: LpFill, how: str) -> tuple[Hedge, bool]:
        recorded, filled = await repository.record_executions(
            hedge.id, hedge.attempt, provider, cast(str, hedge.client_order_id), fill.executions,
            complete_from=[HedgeStatus.EXECUTING, HedgeStatus.UNKNOWN], audited=Audit("hedge.filled", detail={"how": how}),
        )
        if filled or recorded.filled_amount != hedge.filled_amount:
            self.recorder.changed(recorded)
        return recorded, filled

    async def _fail(self, hedge: Hedge, start: Sequence[HedgeStatus], reason: str) -> None:
        failed = await repository.transition(hedge.id, start, HedgeStatus.FAILED, Audit("hedge.failed"),
                                             reason=one_line(reason, 500))
        if failed is not None:
            self.recorder.changed(failed)

    # -- what strategies see ---------------------------------------------------------------

    def _context(self, order: HedgeOrder, controls: dict[str, Any], open_now: bool) -> ExecutionContext:
        now = _now()
        providers = {
            name: p for name, p in sorted(self.providers.items())
            if order.currency in p.currencies and (open_now or p.trades_24x7) and self.breakers.available(name)
        }
        snapshot = {}
        ages = {}
        for name in providers:
            price = self.lp_feed.latest(name, order.currency, order.settlement)
            if price is not None:
                snapshot[name] = price
                ages[name] = (now - price.received_at).total_seconds()

        async def quote(name: str, wanted: HedgeOrder) -> LpQuote | None:
            provider = providers.get(name)
            if provider is None:
                return None
            try:
                answer = await asyncio.wait_for(
                    provider.request_quote(wanted.side, wanted.currency, wanted.settlement, wanted.amount,
                                           controls=controls),
                    VENUE_CALL_SECONDS,
                )
            except Exception as exc:
                log.warning("LP quote failed", extra={"provider": name, "error": _text(exc)})
                await self.breakers.failed(name, _text(exc))
                return None
            await self.breakers.succeeded(name)
            return answer

        async def quote_all(wanted: HedgeOrder) -> list[LpQuote]:
            answers = await asyncio.gather(*(quote(name, wanted) for name in providers))
            return best_first([a for a in answers if a is not None], wanted.side)

        return ExecutionContext(providers=providers, snapshot=snapshot, snapshot_age_seconds=ages, controls=controls,
                                off_hours=not open_now, quote=quote, quote_all=quote_all)
