"""A desk served on loopback, on each database and store backend, priced off a scripted spot
source at 5.0000, with helpers to make clients, log in, quote and close."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar

import httpx

from otc_framework.admin.access import Actor
from otc_framework.admin.clients import create_client
from otc_framework.controls.service import set_control
from otc_framework.plugins import build_plugin_host
from otc_framework.storage.models import AuditSource, Role, Tier
from otc_framework.web import create_app
from tests import scripted_plugin
from tests.conftest import LiveApp, make_config


class Desk:
    def __init__(self, live: LiveApp) -> None:
        self.live = live
        self.app = live.app
        self.http = live.http

    @property
    def runtime(self) -> Any:
        return self.app.ctx.runtime

    async def client(self, name: str = "acme", tier: Tier = Tier.T1, role: Role = Role.CLIENT) -> tuple[str, str]:
        """A new client; returns (client id, token)."""
        created = await create_client(Actor("test", AuditSource.ADMIN), name, tier, role=role)
        return str(created.client.id), await self.login(created.api_key)

    async def admin(self, name: str = "operator") -> tuple[str, str]:
        """A new admin; returns (client id, token)."""
        return await self.client(name, Tier.T7, Role.ADMIN)

    async def login(self, api_key: str) -> str:
        response = await self.http.post("/v1/auth/login", json={"apiKey": api_key})
        assert response.status_code == 200, response.text
        return response.json()["token"]

    async def quote(self, token: str, **body: Any) -> Any:
        body = {"currency": "USDT", "settlement": "D0", "amount": "100000", **body}
        return await self.http.post("/v1/sessions", json=body, headers=bearer(token))

    async def close(self, token: str, session_id: str, **body: Any) -> Any:
        return await self.http.post(f"/v1/sessions/{session_id}/close", json=body or None, headers=bearer(token))

    async def trade(self, token: str) -> Any:
        """Quote then close: the close's answer, or the quote's when it was refused."""
        quoted = await self.quote(token)
        if quoted.status_code != 201:
            return quoted
        return await self.close(token, quoted.json()["sessionId"])

    async def trades_during(self, token: str, fault: asyncio.Task[Any]) -> list[tuple[int, str, float]]:
        """Trade again and again until ``fault`` is done: (status, problem code, seconds) of each."""
        answers = []
        while not fault.done():
            started = time.monotonic()
            answer = await self.trade(token)
            answers.append((answer.status_code, answer.json().get("code", ""), time.monotonic() - started))
            await asyncio.sleep(0.05)
        await fault
        return answers

    async def serving_again(self, token: str, bound: float = 30.0) -> float:
        """Seconds until a trade is answered 201 again; meanwhile every answer is NOT_READY."""
        started = time.monotonic()
        while (answer := await self.trade(token)).status_code != 201:
            assert (answer.status_code, answer.json()["code"]) == (503, "NOT_READY"), answer.text
            assert time.monotonic() - started < bound, "the desk never served again"
            await asyncio.sleep(0.1)
        return time.monotonic() - started

    async def set_control(self, key: str, value: Any) -> None:
        await set_control(self.runtime.backoffice, Actor("test", AuditSource.ADMIN), key, value)

    def spot(self, rate: str) -> None:
        scripted_plugin.SOURCES[-1].rate = Decimal(rate)

    async def wait_for_spot(self, rate: str = "5.0000") -> None:
        for _ in range(750):  # generous: a loaded CI machine polls slowly
            quote = self.runtime.spot_feed.latest("vp", "USD/BRL")
            if quote is not None and quote.last == Decimal(rate):
                return
            await asyncio.sleep(0.02)
        raise AssertionError("spot never arrived")


D = TypeVar("D", bound=Desk)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def desk_config(database_url: str, store_url: str, namespace: str, **tree: Any) -> Any:
    tree.setdefault("market_hours", {"always_open": True})
    return make_config(
        database_url, store_url, namespace,
        plugins={"enabled": ["scripted"], "scripted": {"name": "vp", "rate": "5.0000"}},
        pricing={"spot_source": "vp", "second_source": None},
        **tree,
    )


def scripted_desk(database_url: str, store_url: str, namespace: str) -> tuple[Any, Any]:
    """The config and plugins of ``desk_config``'s desk."""
    config = desk_config(database_url, store_url, namespace)
    return config, build_plugin_host(config, modules={"scripted": scripted_plugin.plugin}, env={})


@asynccontextmanager
async def two_workers(
    database_url: str, store_url: str, namespace: str, loopback: Any, *,
    build: Callable[[], tuple[Any, Any]] | None = None, kind: Callable[[LiveApp], D] = Desk,  # type: ignore[assignment]
) -> AsyncIterator[tuple[D, D]]:
    """Two app instances sharing the database and the store, as two worker processes do, each
    with its own HTTP client; ``build`` makes each one's config and plugins (``scripted_desk``
    by default), ``kind`` wraps each served app."""
    desks: list[D] = []
    try:
        for _ in range(2):
            config, plugins = build() if build is not None else scripted_desk(database_url, store_url, namespace)
            server = await loopback(create_app(config, plugins, unique_name=True))
            desks.append(kind(LiveApp(server.app, httpx.AsyncClient(base_url=server.base_url))))
        for desk in desks:
            await desk.wait_for_spot()
        yield desks[0], desks[1]
    finally:
        for desk in desks:
            await desk.http.aclose()
