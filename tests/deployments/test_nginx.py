"""``deployments/production/nginx.conf``, as shipped, in front of two hosts: trades and both
streams pass through it, a client cannot name its own address, and when one host is told to
stop (SIGTERM) its in-flight close still answers 201 through nginx, new requests go to the
other host, and stream clients reconnect there."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from otc_framework.admin.access import Actor
from otc_framework.admin.clients import create_client
from otc_framework.storage.database import close_database, open_database
from otc_framework.storage.models import AuditLog, AuditSource, Role, Tier
from otc_framework.testing.fake_venue import DemoSettings
from otc_framework.testing.pytest_plugin import services_required
from otc_spot_valorpro.fake import ValorProDemoVenue
from tests.nginx_proxy import NGINX, Nginx
from tests.served import Served, hosts

QUOTE = {"currency": "USDT", "settlement": "D0", "amount": "1000"}


@pytest.fixture
def nginx_binary() -> str:
    if not Path(NGINX).exists():
        if services_required():
            pytest.fail("nginx is not installed and OTC_TEST_REQUIRE_SERVICES is set", pytrace=False)
        pytest.skip("nginx is not installed")
    return NGINX


@pytest.fixture
async def spot() -> AsyncIterator[dict]:
    venue = ValorProDemoVenue()
    section = await venue.start("127.0.0.1", DemoSettings(sandbox_spot=Decimal("5.00")))
    yield section
    await venue.stop()


@pytest.fixture
def two_hosts_behind_nginx(migrated_database_url: str, store_namespace: str, tmp_path: Path, spot: dict,
                           nginx_binary: str) -> Iterator[tuple[Nginx, list[Served]]]:
    # nginx connects from 127.0.0.1: the desk believes its X-Forwarded-For, and no one else's.
    with hosts(tmp_path, migrated_database_url, store_namespace, spot,
               env={"OTC__SERVER__TRUSTED_PROXIES": "127.0.0.1"}) as served:
        proxy = Nginx(nginx_binary, tmp_path / "nginx", [urlsplit(s.url).port or 0 for s in served])
        try:
            yield proxy, served
        finally:
            proxy.stop()


async def stream(url: str, path: str, token: str) -> ClientConnection:
    return await connect(url.replace("http", "ws", 1) + f"{path}?token={token}", open_timeout=30)


def trades_served(served: Served) -> float:
    """Quotes and closes this host answered 201 (its own /metrics; nginx hides it from the public)."""
    text = httpx.get(f"{served.url}/metrics", timeout=10).text
    pattern = re.compile(r'^otc_http_requests_total\{[^}]*route="/v1/sessions[^"]*"[^}]*status="201"[^}]*\} (\S+)$',
                         re.MULTILINE)
    return sum(float(value) for value in pattern.findall(text))


@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
async def test_the_shipped_nginx_config_balances_streams_and_drains(
        migrated_database_url: str, two_hosts_behind_nginx: tuple[Nginx, list[Served]]) -> None:
    proxy, (leaving, staying) = two_hosts_behind_nginx
    await open_database(migrated_database_url)
    try:
        client = await create_client(Actor("test", AuditSource.ADMIN), "Nginx Probe Ltda", Tier.T1)
        admin = await create_client(Actor("test", AuditSource.ADMIN), "Nginx Ops", Tier.T7, role=Role.ADMIN)
    finally:
        await close_database()
    for served in (leaving, staying):
        await asyncio.to_thread(served.wait_ready)
    dsn = migrated_database_url.split("?", 1)[0]

    async with httpx.AsyncClient(base_url=proxy.url, timeout=30) as http:
        login = await http.post("/v1/auth/login", json={"apiKey": client.api_key})
        assert login.status_code == 200, login.text
        token = login.json()["token"]
        admin_token = (await http.post("/v1/auth/login", json={"apiKey": admin.api_key})).json()["token"]
        # A client's own X-Forwarded-For is replaced by nginx with the address it saw.
        auth = {"Authorization": f"Bearer {token}", "X-Forwarded-For": "203.0.113.66"}

        async def trade() -> str:
            quote = await http.post("/v1/sessions", json=QUOTE, headers=auth)
            assert quote.status_code == 201, quote.text
            close = await http.post(f"/v1/sessions/{quote.json()['sessionId']}/close", headers=auth,
                                    json={"oid": uuid.uuid4().hex})
            assert close.status_code == 201, close.text
            return str(close.json()["closingId"])

        for _ in range(12):
            await trade()
        served_by = [await asyncio.to_thread(trades_served, s) for s in (leaving, staying)]
        assert all(count > 0 for count in served_by), f"nginx sent every request to one host: {served_by}"

        # Both streams through nginx (WebSocket upgrade), one per host.
        prices = [await stream(proxy.url, "/v1/ws/prices", token) for _ in range(4)]
        closings = await stream(proxy.url, "/v1/ws/closings", admin_token)
        for ws in prices:
            assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"]
        traded = await trade()
        while traded not in await asyncio.wait_for(closings.recv(), 30):
            pass

        # One host is told to stop while it holds a close (its INSERT waits on a lock of ours).
        blocker = await asyncpg.connect(dsn)
        lock = blocker.transaction()
        await lock.start()
        await blocker.execute("LOCK TABLE closings IN EXCLUSIVE MODE")
        quote = await http.post("/v1/sessions", json=QUOTE, headers=auth)
        sid = quote.json()["sessionId"]
        pending = asyncio.create_task(http.post(f"/v1/sessions/{sid}/close", headers=auth, json={"oid": f"k-{sid}"}))

        async def waiting_hosts() -> list[str]:
            return [r["application_name"] for r in await blocker.fetch(
                "SELECT application_name FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()")]

        deadline = time.monotonic() + 30
        while not (holding := await waiting_hosts()):
            assert time.monotonic() < deadline, "the close never reached the lock"
            await asyncio.sleep(0.05)
        # The host holding the close is the one told to stop (hosts() names them host0, host1).
        if holding == ["host1"]:
            leaving, staying = staying, leaving
        assert holding == ["host0"] or holding == ["host1"], holding
        await asyncio.to_thread(leaving.process.send_signal, signal.SIGTERM)

        # Streams on the leaving host end with 1001; their clients reconnect through nginx.
        dropped = 0
        for ws in prices:
            try:
                await asyncio.wait_for(ws.recv(), 2)
                await asyncio.wait_for(ws.recv(), 2)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 1001
                dropped += 1
            except TimeoutError:
                pass
        assert dropped, "no price stream was on the leaving host"
        reconnected = [await stream(proxy.url, "/v1/ws/prices", token) for _ in range(dropped)]
        for ws in reconnected:
            assert json.loads(await asyncio.wait_for(ws.recv(), 30))["type"]

        # New quotes go to the staying host while the other drains (closes wait on our lock).
        for _ in range(4):
            assert (await http.post("/v1/sessions", json=QUOTE, headers=auth)).status_code == 201
        assert not pending.done()
        await lock.rollback()
        await blocker.close()
        answer = await pending
        assert answer.status_code == 201, answer.text
        assert await asyncio.to_thread(leaving.process.wait, 30) == 0
        for _ in range(4):
            await trade()
        for ws in [*prices, *reconnected, closings]:
            await ws.close()

    await open_database(migrated_database_url)
    try:
        addresses = await AuditLog.filter(action="CLOSE_SUCCESS").values_list("ip_address", flat=True)
        assert len(addresses) == 12 + 1 + 1 + 4 and set(addresses) == {"127.0.0.1"}, addresses
    finally:
        await close_database()
    print(f"price streams moved to the staying host: {dropped} of {len(prices)}")
