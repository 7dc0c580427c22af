"""Browser tests of the pages: ``otc demo`` served in its own process (one per test module,
since a module's tests share its state), driven by Playwright through the system Chromium.

Without ``/usr/bin/chromium`` or the ``playwright`` package the tests skip, unless
``OTC_TEST_REQUIRE_SERVICES`` is set (CI), where that is a failure. Every tab opened through
``tabs`` fails its test at the end if the page requested anything from outside the desk's
origin (such requests are aborted and recorded) or logged a console error. The one kind of
console error tolerated is Chromium's "Failed to load resource" line for a problem answer of
the API (``/v1/…``, a 4xx or 503): a test that provokes a conflict, an expired quote or
quoting switched off gets one by design, and the page shows the problem; a 500 or a missing
page file is never tolerated.

Put ``pytestmark = pytest.mark.xdist_group("pages-<module>")`` in each module, so one xdist
worker runs a module and starts its desk once (``make test`` distributes by group).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from otc_framework.testing.pytest_plugin import services_required
from tests.test_demo import free_port, interrupt, wait_ready

ROOT = Path(__file__).parents[2]
CHROMIUM = Path("/usr/bin/chromium")
# The flags this machine needs: no sandbox as root, and no background traffic to Google's
# hosts (the closed network refuses it, which shows as errors).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps", "--disable-extensions",
]
TOLERATED = re.compile(r"Failed to load resource: the server responded with a status of (4[0-9]{2}|503)\b")


@dataclass
class Desk:
    url: str
    data_dir: Path
    process: subprocess.Popen[str]
    credentials: dict[str, Any]

    @property
    def admin_key(self) -> str:
        return self.credentials["admin"]["apiKey"]

    def client(self, index: int = 0) -> dict[str, Any]:
        return self.credentials["clients"][index]

    def venue(self, name: str) -> str:
        listed = self.credentials["venues"][name]
        return listed["url"] if isinstance(listed, dict) else listed

    def api(self, key: str) -> httpx.Client:
        """An API client logged in with ``key``."""
        token = httpx.post(f"{self.url}/v1/auth/login", json={"apiKey": key}, timeout=10).json()["token"]
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    def admin(self) -> httpx.Client:
        return self.api(self.admin_key)


def browser_available() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if not CHROMIUM.exists():
        return "Chromium is not installed at /usr/bin/chromium (Debian's chromium package)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is not installed"
    return None


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    missing = browser_available()
    if missing:
        if services_required():
            pytest.fail(f"{missing}, and OTC_TEST_REQUIRE_SERVICES is set", pytrace=False)
        pytest.skip(missing)
    tmp = tmp_path_factory.mktemp("pages")
    port = free_port()
    data_dir = tmp / "demo"
    log = (tmp / "demo.log").open("w+")
    process = subprocess.Popen(
        [sys.executable, "-m", "otc_framework.cli", "demo", "--port", str(port), "--data-dir", str(data_dir)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, text=True, start_new_session=True,
        env={**os.environ, "OTC_SANDBOX_SPOT": "5.00"},
    )
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url, process)
        yield Desk(url, data_dir, process, json.loads((data_dir / "credentials.json").read_text()))
    finally:
        interrupt(process)
        log.close()


@pytest.fixture(scope="module")
def browser(desk: Desk) -> Iterator[Any]:
    # Per module, not per session: the sync API runs an event loop of its own, which would
    # break the asyncio tests an xdist worker runs after this module.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Tabs:
    """Opens tabs on the desk, each in its own browser context (its own sessionStorage, as a
    second window of another person would be), and records what they must not do."""

    browser: Any
    desk: Desk
    contexts: list[Any] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def open(self, path: str = "/", *, color_scheme: str = "light", clock: bool = False,
             viewport: dict[str, int] | None = None) -> Any:
        """A new tab at ``path``. ``clock`` installs Playwright's clock before the page loads,
        so a test can move time (``page.clock.fast_forward``) without waiting."""
        context = self.browser.new_context(
            base_url=self.desk.url, color_scheme=color_scheme, viewport=viewport or {"width": 1360, "height": 900},
            locale="pt-BR", timezone_id="America/Sao_Paulo",
        )
        self.contexts.append(context)
        origin = urlsplit(self.desk.url)

        def guard(route: Any) -> None:
            target = urlsplit(route.request.url)
            if (target.scheme, target.netloc) == (origin.scheme, origin.netloc):
                route.continue_()
            else:
                self.outside.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.on("console", lambda message: self._console(message))
        page.on("pageerror", lambda error: self.console.append(f"page error: {error}"))
        if clock:
            page.clock.install()
        page.goto(path)
        return page

    def _console(self, message: Any) -> None:
        if message.type != "error":
            return
        where = message.location.get("url", "") if isinstance(message.location, dict) else ""
        if TOLERATED.match(message.text) and urlsplit(where).path.startswith("/v1/"):
            return
        self.console.append(f"{message.text} ({where})")

    def close(self) -> None:
        for context in self.contexts:
            context.close()


@pytest.fixture
def tabs(browser: Any, desk: Desk) -> Iterator[Tabs]:
    opened = Tabs(browser, desk)
    try:
        yield opened
    finally:
        opened.close()
    assert not opened.outside, f"requests outside the desk's origin: {opened.outside}"
    assert not opened.console, f"console errors: {opened.console}"


def log_in(page: Any, key: str) -> None:
    """Log in through the page's form, as a person would."""
    page.get_by_label("API key").fill(key)
    page.get_by_role("button", name="Log in").click()
    page.locator("#login").wait_for(state="hidden")
