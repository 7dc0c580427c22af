"""SIGTERM drains a host (``web.drain``): with two hosts on one database and store, the host
told to stop finishes the close it was serving when the signal came, closes its price streams
with 1001, refuses new connections while it drains, hands every lease to the other host, and
exits 0."""

from __future__ import annotations

import asyncio
import signal
import socket
import time
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from otc_framework.admin.access import Actor
from otc_framework.admin.clients import create_client
from otc_framework.storage.database import close_database, open_database
from otc_framework.storage.models import AuditSource, Tier
from otc_framework.testing.fake_venue import DemoSettings
from otc_spot_valorpro.fake import ValorProDemoVenue
from tests.served import Served, hosts

QUOTE = {"currency": "USDT", "settlement": "D0", "amount": "1000"}


async def until(check, what: str, bound: float = 30.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + bound  # a bound for a loaded machine, not a speed claim
    while time.monotonic() < deadline:
        if result := await check():
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"never happened: {what}")


def refuses(served: Served) -> bool:
    parts = urlsplit(served.url)
    try:
        socket.create_connection((parts.hostname, parts.port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


async def leases(served: Served) -> dict[str, dict]:
    async with httpx.AsyncClient(timeout=5) as http:
        return (await http.get(f"{served.url}/health/ready")).json()["leases"]


@pytest.fixture
async def spot() -> dict:
    venue = ValorProDemoVenue()
    section = await venue.start("127.0.0.1", DemoSettings(sandbox_spot=Decimal("5.00")))
    yield section
    await venue.stop()


@pytest.mark.parametrize("migrated_database_url", ["postgres"], indirect=True)
@pytest.mark.parametrize("store_url", ["redis"], indirect=True)
async def test_a_sigterm_drains_the_host_and_the_other_takes_over(
        migrated_database_url: str, store_namespace: str, tmp_path: Path, spot: dict) -> None:
    await open_database(migrated_database_url)
    try:
        created = await create_client(Actor("test", AuditSource.ADMIN), "Drain Probe Ltda", Tier.T1)
    finally:
        await close_database()
    dsn = migrated_database_url.split("?", 1)[0]
    with hosts(tmp_path, migrated_database_url, store_namespace, spot) as (leaving, staying):
        for served in (leaving, staying):
            await asyncio.to_thread(served.wait_ready)
        async with httpx.AsyncClient(base_url=leaving.url, timeout=30) as http:
            token = (await http.post("/v1/auth/login", json={"apiKey": created.api_key})).json()["token"]
            auth = {"Authorization": f"Bearer {token}"}
            quote = await http.post("/v1/sessions", json=QUOTE, headers=auth)
            assert quote.status_code == 201, quote.text
            session_id = quote.json()["sessionId"]
            stream = await connect(leaving.url.replace("http", "ws", 1) + f"/v1/ws/prices?token={token}",
                                   open_timeout=30)
            await asyncio.wait_for(stream.recv(), 30)

            # The close is held inside the leaving host: its INSERT waits on a lock the test holds.
            blocker = await asyncpg.connect(dsn)
            lock = blocker.transaction()
            await lock.start()
            await blocker.execute("LOCK TABLE closings IN EXCLUSIVE MODE")
            oid = uuid.uuid4().hex
            closing = asyncio.create_task(http.post(f"/v1/sessions/{session_id}/close", headers=auth,
                                                    json={"oid": oid}))

            async def waiting() -> bool:
                return bool(await blocker.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"))

            await until(waiting, "the close waits on the lock")
            leaving.process.send_signal(signal.SIGTERM)

            # While its close is still in flight, the host gives its leases up and its port closes.
            async def handed_over() -> bool:
                held = await leases(staying)
                return all(lease["here"] for lease in held.values())

            started = time.monotonic()
            await until(handed_over, "every lease on the staying host")
            handed_over_after = time.monotonic() - started
            await until(lambda: asyncio.to_thread(refuses, leaving), "the leaving host refuses new connections")
            with pytest.raises(ConnectionClosed) as closed:
                while True:
                    await asyncio.wait_for(stream.recv(), 30)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
            assert not closing.done()

            await lock.rollback()
            await blocker.close()
            answer = await closing
            assert answer.status_code == 201, answer.text
        assert await asyncio.to_thread(leaving.process.wait, 30) == 0

        # The desk goes on from the other host: the same trade is known there, once.
        async with httpx.AsyncClient(base_url=staying.url, timeout=30) as http:
            again = await http.post(f"/v1/sessions/{session_id}/close", headers=auth, json={"oid": oid})
            assert again.status_code == 200 and again.json()["closingId"] == answer.json()["closingId"]
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT count(*) FROM closings WHERE session_id = $1", session_id) == 1
    finally:
        await conn.close()
    print(f"leases on the staying host {handed_over_after:.2f} s after SIGTERM")
