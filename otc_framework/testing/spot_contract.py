"""The contract every ``SpotSource`` adapter must keep, as a reusable pytest suite.

A plugin author subclasses ``SpotSourceContract`` in a test module and provides two
fixtures: ``spot_source``, an adapter pointed at the plugin's running fake venue, and
``stopped_spot_source``, the same adapter pointed at a loopback port nobody listens on
(``unreachable_base_url()`` gives one)::

    from otc_framework.testing.fake_venue import LoopbackServer
    from otc_framework.testing.spot_contract import SpotSourceContract, unreachable_base_url

    @pytest.fixture
    async def spot_source():
        server = LoopbackServer(create_fake_app(token="t"))
        base_url = await server.start()
        async with httpx.AsyncClient() as http:
            yield MySpotSource(MyConfig(base_url=base_url, token="t"), http)
        await server.stop()

    @pytest.fixture
    async def stopped_spot_source():
        async with httpx.AsyncClient() as http:
            yield MySpotSource(MyConfig(base_url=unreachable_base_url(), token="t"), http)

    class TestMyContract(SpotSourceContract):
        pass

The class has no ``Test`` prefix, so pytest collects it only through such subclasses. Its
tests run under pytest-asyncio's auto mode (the core's pytest configuration).
"""

from __future__ import annotations

import socket
from datetime import timedelta
from decimal import Decimal

import pytest

from otc_framework.errors import VenueError
from otc_framework.ports import SpotQuote, SpotSource


def unreachable_base_url(host: str = "127.0.0.1") -> str:
    """A base URL on a loopback port that was free a moment ago and is closed now.

    Reserving and releasing a port, rather than assuming a fixed one is closed, keeps the
    test meaningful on machines where some low port happens to be served.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port = sock.getsockname()[1]
    return f"http://{host}:{port}"


class SpotSourceContract:
    """Tests any ``SpotSource`` must pass; see the module docstring for the fixtures."""

    def test_name_is_a_non_empty_string(self, spot_source: SpotSource) -> None:
        assert isinstance(spot_source.name, str)
        assert spot_source.name.strip()

    def test_instruments_are_declared(self, spot_source: SpotSource) -> None:
        assert isinstance(spot_source.instruments, tuple)
        assert spot_source.instruments
        assert all(isinstance(i, str) and i for i in spot_source.instruments)

    async def test_fetch_returns_spot_quotes(self, spot_source: SpotSource) -> None:
        quotes = list(await spot_source.fetch())
        assert quotes
        assert all(isinstance(q, SpotQuote) for q in quotes)

    async def test_prices_are_positive_ordered_decimals(self, spot_source: SpotSource) -> None:
        for quote in await spot_source.fetch():
            assert isinstance(quote.bid, Decimal)
            assert isinstance(quote.ask, Decimal)
            assert quote.last is None or isinstance(quote.last, Decimal)
            assert quote.bid.is_finite() and quote.ask.is_finite()
            assert Decimal(0) < quote.bid <= quote.ask

    async def test_quotes_name_this_source_and_a_declared_instrument(
        self, spot_source: SpotSource
    ) -> None:
        quotes = await spot_source.fetch()
        for quote in quotes:
            assert quote.source == spot_source.name
            assert quote.instrument in spot_source.instruments
        instruments = [q.instrument for q in quotes]
        assert len(instruments) == len(set(instruments))

    async def test_times_are_timezone_aware(self, spot_source: SpotSource) -> None:
        for quote in await spot_source.fetch():
            assert quote.received_at.utcoffset() is not None
            if quote.venue_time is not None:
                assert quote.venue_time.utcoffset() == timedelta(0)

    async def test_fetch_can_be_repeated(self, spot_source: SpotSource) -> None:
        first = await spot_source.fetch()
        second = await spot_source.fetch()
        assert first and second

    async def test_unreachable_venue_raises_venue_error(
        self, stopped_spot_source: SpotSource
    ) -> None:
        with pytest.raises(VenueError):
            await stopped_spot_source.fetch()
