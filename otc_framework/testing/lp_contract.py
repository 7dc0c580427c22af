"""The contract every ``LiquidityProvider`` adapter must keep, as a reusable pytest suite.

After Hummingbot's connector suites: an LP plugin's tests subclass ``LiquidityProviderContract``
once per way of standing up its venue (respx mocks, its fake on loopback, later a WebSocket
fake), each with a fixture ``lp_harness`` returning an ``LpHarness``:

- ``provider``: the adapter under test, built with a tiny timeout (a hanging venue must fail
  the test quickly);
- ``secrets``: the values that must never appear in an error or a log line (the API key, a
  signing secret);
- ``currency``, ``settlement``: a pair the venue quotes; ``amount``: an order size it fills in
  one execution (at most its chunk size);
- ``chunk_size``: the size above which the adapter splits an order into several executions,
  or ``None`` when it never does;
- ``async quotes_registered() -> int``: how many tradable quotes the venue has registered so
  far (an indicative price must not move it);
- ``async executions() -> list[VenueExecution]``: what the venue executed, oldest first, each
  with its venue execution id, amount and price;
- ``async expire_quotes()``: every quote the venue issued so far is expired, by the venue's
  clock;
- ``async fault(status=None, *, retry_after=1.0, drop=False, hang=False, count=1)``: the
  next ``count`` requests (HTTP requests, or messages on a socket) are answered with
  ``status`` the way the venue answers it (``retry_after`` seconds where it sends one),
  dropped (``drop``: the connection closes with no answer, the venue never acts on it), or
  not answered within the adapter's timeout and never acted on (``hang``);
- ``async refuse()``: the next request is refused for bad credentials, the venue's way;
- ``async lose_next_execution(*, executed, hang=False)``: the answer to the next execution
  request never arrives: the connection drops (or, with ``hang``, nothing comes within the
  adapter's timeout) after the venue executed it (``executed``) or without the venue ever
  receiving it.

Every harness makes its venue fail with the ``Fault`` model of
``otc_framework.testing.fake_venue``, built by ``harness_fault`` and
``lost_execution_fault``: a fake takes it at ``POST /_fault`` (``post_fault``), a respx mock
keeps a ``Faults`` queue and raises what httpx would (a drop is a closed connection, a hang a
read timeout). A lost execution is a fault matched to the venue's execution request (its
path, or its frame type on a socket) that drops the answer, applied after the venue acted
when it executed::

    class TestAcmeContractOnFake(LiquidityProviderContract):
        @pytest.fixture
        async def lp_harness(self, loopback, http):
            server = await loopback(create_app(API_KEY))
            return AcmeLoopbackHarness(server, http)

The class has no ``Test`` prefix, so pytest collects it only through such subclasses. Its
tests run under pytest-asyncio's auto mode (the core's pytest configuration).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Protocol

import httpx
import pytest

from otc_framework.errors import (
    VenueError,
    VenueRateLimited,
    VenueRefused,
    VenueUnknownOutcome,
)
from otc_framework.ports import Currency, LiquidityProvider, LpFill, LpQuote, OrderState, Settlement
from otc_framework.testing.fake_venue import Fault

# Loggers of the transport and the fake's server: httpx logs each request line, URL and all,
# and the core's log redactor masks the registered secrets in it (otc_framework.logs). What
# the adapter itself logs is the contract's business.
TRANSPORT_LOGGERS = ("httpx", "httpcore", "sanic")


@dataclass(frozen=True, slots=True)
class VenueExecution:
    """One execution as the venue recorded it."""

    execution_id: str
    amount: Decimal
    price: Decimal


class LpHarness(Protocol):
    """What an ``lp_harness`` fixture returns; see the module docstring."""

    @property
    def provider(self) -> LiquidityProvider: ...

    @property
    def secrets(self) -> Sequence[str]: ...

    @property
    def currency(self) -> Currency: ...

    @property
    def settlement(self) -> Settlement: ...

    @property
    def amount(self) -> Decimal: ...

    @property
    def chunk_size(self) -> Decimal | None: ...

    async def quotes_registered(self) -> int: ...

    async def executions(self) -> list[VenueExecution]: ...

    async def expire_quotes(self) -> None: ...

    async def fault(
        self,
        status: int | None = None,
        *,
        retry_after: float = 1.0,
        drop: bool = False,
        hang: bool = False,
        count: int = 1,
    ) -> None: ...

    async def refuse(self) -> None: ...

    async def lose_next_execution(self, *, executed: bool, hang: bool = False) -> None: ...


def harness_fault(
    status: int | None = None,
    *,
    retry_after: float = 1.0,
    drop: bool = False,
    hang: bool = False,
    count: int = 1,
    hang_seconds: float,
) -> Fault:
    """The fault of ``LpHarness.fault``: a hang is a drop held back ``hang_seconds`` (well
    past the adapter's timeout), so the venue never acts on it."""
    return Fault(
        status=status, retry_after=retry_after, drop=drop or hang, delay=hang_seconds if hang else 0, count=count
    )


def lost_execution_fault(match: str, *, executed: bool, hang: bool, hang_seconds: float) -> Fault:
    """The fault of ``LpHarness.lose_next_execution`` for a venue whose execution requests
    ``match`` names (a path, a frame type): the answer is dropped, after the venue executed
    the order (``executed``) or before it saw it, at once or ``hang_seconds`` later."""
    return Fault(match=match, after=executed, drop=True, delay=hang_seconds if hang else 0)


async def post_fault(http: httpx.AsyncClient, base_url: str, fault: Fault) -> None:
    """Queue ``fault`` at a fake's ``POST /_fault``."""
    response = await http.post(f"{base_url}/_fault", json=fault.model_dump(by_alias=True, exclude_defaults=True))
    response.raise_for_status()


def new_order_id() -> str:
    """A client order id as the desk derives one from a hedge: unique, UUID-shaped."""
    return str(uuid.uuid4())


def vwap(executions: Sequence[VenueExecution]) -> Decimal:
    """The volume-weighted average price, computed as adapters must: notional / amount."""
    notional = sum((e.amount * e.price for e in executions), Decimal(0))
    return notional / sum((e.amount for e in executions), Decimal(0))


def _texts_of(error: BaseException) -> list[str]:
    return [str(error), repr(error), *(str(arg) for arg in error.args), getattr(error, "message", "")]


async def _quote(harness: LpHarness, amount: Decimal | None = None) -> LpQuote:
    return await harness.provider.request_quote("BUY", harness.currency, harness.settlement, amount or harness.amount)


def _assert_fill_matches(fill: LpFill, executions: Sequence[VenueExecution]) -> None:
    assert fill.amount == sum((e.amount for e in executions), Decimal(0))
    assert fill.price == vwap(executions)
    assert fill.chunks == len(executions)
    reported = sorted((e.execution_id, e.amount, e.price) for e in fill.executions)
    assert reported == sorted((e.execution_id, e.amount, e.price) for e in executions)
    assert all(e.executed_at.utcoffset() is not None for e in fill.executions)
    assert fill.filled_at == max(e.executed_at for e in fill.executions)


class LiquidityProviderContract:
    """Tests any ``LiquidityProvider`` must pass; see the module docstring for the fixture."""

    def test_declares_its_name(self, lp_harness: LpHarness) -> None:
        provider = lp_harness.provider
        assert isinstance(provider.name, str) and provider.name.strip()
        assert isinstance(provider.trades_24x7, bool)

    async def test_indicative_price_registers_no_quote(self, lp_harness: LpHarness) -> None:
        before = await lp_harness.quotes_registered()
        for _ in range(3):
            price = await lp_harness.provider.get_price(lp_harness.currency, lp_harness.settlement)
            assert price.provider == lp_harness.provider.name
            assert (price.currency, price.settlement) == (lp_harness.currency, lp_harness.settlement)
            assert isinstance(price.bid, Decimal) and isinstance(price.ask, Decimal)
            assert Decimal(0) < price.bid <= price.ask
            assert price.received_at.utcoffset() is not None
        assert await lp_harness.quotes_registered() == before
        assert await lp_harness.executions() == []

    async def test_quote_is_tradable_until_its_validity(self, lp_harness: LpHarness) -> None:
        before = await lp_harness.quotes_registered()
        quote = await _quote(lp_harness)
        assert await lp_harness.quotes_registered() > before
        assert quote.provider == lp_harness.provider.name
        assert (quote.side, quote.currency, quote.settlement) == ("BUY", lp_harness.currency, lp_harness.settlement)
        assert quote.amount == lp_harness.amount
        assert isinstance(quote.price, Decimal) and quote.price > 0
        assert quote.valid_until > datetime.now(UTC)

    async def test_quote_ignores_the_controls_it_does_not_own(self, lp_harness: LpHarness) -> None:
        controls = {"exec_mode": "auto", "exec_someone_elses_chunk_size": Decimal("1")}
        quote = await lp_harness.provider.request_quote(
            "BUY", lp_harness.currency, lp_harness.settlement, lp_harness.amount, controls=controls
        )
        assert quote.amount == lp_harness.amount and quote.price > 0

    async def test_quote_fills_once_at_its_price(self, lp_harness: LpHarness) -> None:
        quote = await _quote(lp_harness)
        fill = await lp_harness.provider.execute_quote(quote, new_order_id())
        executions = await lp_harness.executions()
        assert len(executions) == 1
        _assert_fill_matches(fill, executions)
        assert (fill.provider, fill.amount, fill.price) == (lp_harness.provider.name, quote.amount, quote.price)

    async def test_expired_quote_is_refused_and_fills_nothing(self, lp_harness: LpHarness) -> None:
        quote = await _quote(lp_harness)
        await lp_harness.expire_quotes()
        order_id = new_order_id()
        with pytest.raises(VenueRefused):
            await lp_harness.provider.execute_quote(quote, order_id)
        assert await lp_harness.executions() == []
        lookup = await lp_harness.provider.lookup_order(order_id)
        assert lookup.state in (OrderState.NOT_FOUND, OrderState.REJECTED)
        assert lookup.fill is None

    async def test_order_above_the_chunk_size_fills_in_chunks_at_their_vwap(self, lp_harness: LpHarness) -> None:
        chunk = lp_harness.chunk_size
        if chunk is None:
            pytest.skip("this venue fills any size in one execution")
        amount = chunk * 2 + chunk / 2
        quote = await _quote(lp_harness, amount)
        assert quote.amount == amount
        order_id = new_order_id()
        fill = await lp_harness.provider.execute_quote(quote, order_id)
        executions = await lp_harness.executions()
        assert len(executions) == 3
        assert all(e.amount <= chunk for e in executions)
        assert len({e.execution_id for e in executions}) == 3
        _assert_fill_matches(fill, executions)
        assert fill.amount == amount
        lookup = await lp_harness.provider.lookup_order(order_id)
        assert lookup.state is OrderState.FILLED and lookup.fill is not None
        _assert_fill_matches(lookup.fill, executions)

    @pytest.mark.parametrize("hang", [False, True], ids=["dropped", "timed-out"])
    @pytest.mark.parametrize("executed", [True, False], ids=["venue-filled", "never-received"])
    async def test_lost_answer_is_unknown_outcome_and_lookup_tells_the_truth(
        self, lp_harness: LpHarness, executed: bool, hang: bool
    ) -> None:
        quote = await _quote(lp_harness)
        order_id = new_order_id()
        await lp_harness.lose_next_execution(executed=executed, hang=hang)
        with pytest.raises(VenueUnknownOutcome) as caught:
            await lp_harness.provider.execute_quote(quote, order_id)
        assert caught.value.client_order_id == order_id
        lookup = await lp_harness.provider.lookup_order(order_id)
        executions = await lp_harness.executions()
        if executed:
            assert lookup.state is OrderState.FILLED and lookup.fill is not None
            assert len(executions) == 1
            _assert_fill_matches(lookup.fill, executions)
            assert lookup.fill.price == quote.price
        else:
            assert lookup.state is OrderState.NOT_FOUND and lookup.fill is None
            assert executions == []

    async def test_unknown_order_is_not_found(self, lp_harness: LpHarness) -> None:
        lookup = await lp_harness.provider.lookup_order(new_order_id())
        assert lookup.state is OrderState.NOT_FOUND and lookup.fill is None

    async def test_same_client_order_id_never_fills_twice(self, lp_harness: LpHarness) -> None:
        order_id = new_order_id()
        quote = await _quote(lp_harness)
        first = await lp_harness.provider.execute_quote(quote, order_id)
        for again in (quote, await _quote(lp_harness)):
            try:
                repeat = await lp_harness.provider.execute_quote(again, order_id)
            except VenueError:
                continue
            assert repeat.execution_ids == first.execution_ids
            assert repeat.amount == first.amount
        assert len(await lp_harness.executions()) == 1

    @pytest.mark.parametrize("operation", ["price", "quote", "execute"])
    async def test_rate_limit_carries_the_venues_wait(self, lp_harness: LpHarness, operation: str) -> None:
        quote = await _quote(lp_harness) if operation == "execute" else None
        await lp_harness.fault(429, retry_after=3)
        with pytest.raises(VenueRateLimited) as caught:
            await _call(lp_harness, operation, quote)
        assert caught.value.retry_after == pytest.approx(3)
        assert await lp_harness.executions() == []

    @pytest.mark.parametrize("operation", ["price", "quote", "execute", "lookup"])
    async def test_bad_credentials_are_refused(self, lp_harness: LpHarness, operation: str) -> None:
        quote = await _quote(lp_harness) if operation == "execute" else None
        await lp_harness.refuse()
        with pytest.raises(VenueRefused):
            await _call(lp_harness, operation, quote)
        assert await lp_harness.executions() == []

    @pytest.mark.parametrize("status", [500, 502, 503])
    @pytest.mark.parametrize("operation", ["price", "quote", "lookup"])
    async def test_server_error_is_retryable(self, lp_harness: LpHarness, operation: str, status: int) -> None:
        await lp_harness.fault(status)
        with pytest.raises(VenueError) as caught:
            await _call(lp_harness, operation, None)
        assert not isinstance(caught.value, VenueRateLimited | VenueRefused)

    async def test_server_error_on_execution_fills_nothing_and_is_not_refused(self, lp_harness: LpHarness) -> None:
        quote = await _quote(lp_harness)
        await lp_harness.fault(503)
        with pytest.raises(VenueError) as caught:
            await lp_harness.provider.execute_quote(quote, new_order_id())
        assert not isinstance(caught.value, VenueRateLimited | VenueRefused)
        assert await lp_harness.executions() == []

    async def test_works_again_once_the_venue_recovers(self, lp_harness: LpHarness) -> None:
        for fault in _faults(lp_harness):
            await fault()
            with pytest.raises(VenueError):
                await lp_harness.provider.get_price(lp_harness.currency, lp_harness.settlement)
            await fault()
            with pytest.raises(VenueError):
                await _quote(lp_harness)
        await lp_harness.provider.get_price(lp_harness.currency, lp_harness.settlement)
        fill = await lp_harness.provider.execute_quote(await _quote(lp_harness), new_order_id())
        assert fill.amount == lp_harness.amount
        assert len(await lp_harness.executions()) == 1

    async def test_secrets_never_appear_in_errors_or_logs(
        self, lp_harness: LpHarness, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        provider = lp_harness.provider
        texts = [repr(provider), str(provider)]
        for operation in ("price", "quote", "execute", "lookup"):
            faults: tuple[Callable[[], Awaitable[None]], ...] = (partial(lp_harness.fault, 429), *_faults(lp_harness))
            for fault in faults:
                quote = await _quote(lp_harness) if operation == "execute" else None
                await fault()
                with pytest.raises(VenueError) as caught:
                    await _call(lp_harness, operation, quote)
                texts += _texts_of(caught.value)
            quote = await _quote(lp_harness) if operation == "execute" else None
            await lp_harness.refuse()
            with pytest.raises(VenueRefused) as refused:
                await _call(lp_harness, operation, quote)
            texts += _texts_of(refused.value)
        await lp_harness.lose_next_execution(executed=True)
        with pytest.raises(VenueUnknownOutcome) as unknown:
            await provider.execute_quote(await _quote(lp_harness), new_order_id())
        texts += _texts_of(unknown.value)
        texts += [r.getMessage() for r in caplog.records if not r.name.startswith(TRANSPORT_LOGGERS)]
        assert lp_harness.secrets
        for secret in lp_harness.secrets:
            assert not [text for text in texts if secret in text]


def _faults(harness: LpHarness) -> tuple[Callable[[], Awaitable[None]], ...]:
    """A dropped connection, a hang and a 5xx: the failures a venue recovers from."""
    return (partial(harness.fault, drop=True), partial(harness.fault, hang=True), partial(harness.fault, 503))


async def _call(harness: LpHarness, operation: str, quote: LpQuote | None) -> object:
    """One call of the port by name, so a test can check the same rule on each of them."""
    provider = harness.provider
    if operation == "price":
        return await provider.get_price(harness.currency, harness.settlement)
    if operation == "quote":
        return await _quote(harness)
    if operation == "execute":
        assert quote is not None
        return await provider.execute_quote(quote, new_order_id())
    return await provider.lookup_order(new_order_id())
