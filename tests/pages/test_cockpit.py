"""The operator cockpit in Chromium: the LP grid live from the admin socket, an LP that stops
ticking dimmed and marked stale after 6 s (Playwright's clock moved on), a trade hedged under
exec_mode=auto_best showing in today's hedges as filled, exec_mode saved from the cockpit's
editor with the keyboard, and the lists read again after the socket came back (an alert raised
while it was away shows)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.pages.conftest import Desk, Tabs, log_in

pytestmark = pytest.mark.xdist_group("pages-cockpit")

STALE = re.compile(r"\bstale\b")
ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")


@pytest.fixture(scope="module")
def admin(desk: Desk) -> Iterator[httpx.Client]:
    """One logged-in admin API client for the module (logging in per call would hit the rate limit)."""
    with desk.admin() as api:
        yield api


def open_cockpit(tabs: Tabs, desk: Desk, *, clock: bool = False) -> Any:
    page = tabs.open("/cockpit", clock=clock)
    log_in(page, desk.admin_key)
    expect(page.locator("#stream-state")).to_have_text("Live")
    return page


def lp_rows(page: Any, provider: str, instrument: str = "") -> Any:
    return page.locator(f'#lp-table tbody tr[data-provider="{provider}"]{instrument}')


def control_value(admin: httpx.Client, key: str) -> Any:
    items = admin.get("/v1/admin/controls").json()["items"]
    return next(item["value"] for item in items if item["key"] == key)


def set_control(admin: httpx.Client, key: str, value: Any) -> None:
    admin.put(f"/v1/admin/controls/{key}", json={"value": value}).raise_for_status()


def wait_for(check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def lp_health(desk: Desk, provider: str) -> dict[str, Any]:
    return httpx.get(f"{desk.url}/health/ready", timeout=10).json()["lp"][provider]


def test_lp_ticks_arrive_in_the_grid(tabs: Tabs, desk: Desk) -> None:
    page = open_cockpit(tabs, desk)
    for provider in ("nonco", "horizon"):
        row = lp_rows(page, provider, '[data-currency="USDC"][data-settlement="D0"]')
        expect(row.locator("td.bid .price")).to_have_text(re.compile(r"^\d+,\d{4}$"))
        expect(row.locator("td.ask .price")).to_have_text(re.compile(r"^\d+,\d{4}$"))
        expect(row).to_have_attribute("data-updated", ISO)
        first = row.get_attribute("data-updated") or ""
        # The LPs are polled every 2 s: a later tick replaces the row's time.
        expect(row).not_to_have_attribute("data-updated", first, timeout=10000)
        expect(row).not_to_have_class(STALE)
        expect(row.locator("td.state")).to_have_text("live")
    expect(page.locator("#spot-table tbody tr")).not_to_have_count(0)
    expect(page.locator('#breaker-table tr[data-provider="nonco"]')).to_contain_text("closed")


def test_an_lp_that_stops_ticking_is_dimmed_and_marked_stale(tabs: Tabs, desk: Desk) -> None:
    nonco = desk.venue("lp_nonco")
    page = open_cockpit(tabs, desk, clock=True)
    stopped, live = lp_rows(page, "nonco"), lp_rows(page, "horizon")
    expect(stopped).to_have_count(3)
    expect(live).to_have_count(3)
    for index in range(3):
        expect(stopped.nth(index)).not_to_have_class(STALE)
    try:
        # Every handshake refused, and the open socket dropped at its next push: no more ticks.
        httpx.post(f"{nonco}/_fault", json={"status": 503, "count": 100000}).raise_for_status()
        httpx.post(f"{nonco}/_fault", json={"stream": True, "drop": True}).raise_for_status()
        wait_for(lambda: lp_health(desk, "nonco")["lastError"], "the desk to see nonco failing")
        page.clock.fast_forward(7000)
        for index in range(3):
            row = stopped.nth(index)
            expect(row).to_have_class(STALE)
            expect(row.locator("td.state")).to_have_text("stale")
        for index in range(3):
            row = live.nth(index)  # still ticking: live again at its next tick, whatever the jump
            expect(row).not_to_have_class(STALE)
            expect(row.locator("td.state")).to_have_text("live")
        expect(stopped.first).to_have_class(STALE)  # and nonco stays stale meanwhile
    finally:
        httpx.delete(f"{nonco}/_fault").raise_for_status()
        # The next tests hedge: let nonco come back first.
        wait_for(lambda: lp_health(desk, "nonco")["fresh"], "nonco to tick again", timeout=60)


def test_a_trade_under_auto_best_shows_its_hedge_filled(tabs: Tabs, desk: Desk, admin: httpx.Client) -> None:
    page = open_cockpit(tabs, desk)
    before = control_value(admin, "exec_mode")
    set_control(admin, "exec_mode", "auto_best")
    try:
        expect(page.get_by_label("Execution mode")).to_have_value("auto_best")  # control.changed re-read it
        with desk.api(desk.client(0)["apiKey"]) as client:
            session = client.post("/v1/sessions", json={"currency": "USDT", "settlement": "D1", "amount": "250000"})
            session.raise_for_status()
            closed = client.post(f"/v1/sessions/{session.json()['sessionId']}/close",
                                 json={"oid": f"cockpit-{uuid.uuid4().hex[:12]}"})
            closed.raise_for_status()
        closing_id = closed.json()["closingId"]
        row = page.locator(f'#hedge-table tbody tr[data-closing-id="{closing_id}"]')
        expect(row.locator("td.hedge-status")).to_contain_text("filled", timeout=15000)
        [hedge] = admin.get("/v1/admin/hedges", params={"closingId": closing_id}).json()["items"]
        assert hedge["status"] == "filled" and hedge["provider"] in {"nonco", "horizon"}
        expect(row.locator("td.provider")).to_have_text(hedge["provider"])
        expect(row).to_contain_text("250.000,00")
        expect(row).to_contain_text(re.compile(r"-?\d+,\d bps"))
        expect(page.locator('#exposure-facts dd[data-fact="filled-today"]')).not_to_have_text("0")
    finally:
        set_control(admin, "exec_mode", before)


def test_exec_mode_is_saved_from_the_cockpit_with_the_keyboard(tabs: Tabs, desk: Desk, admin: httpx.Client) -> None:
    page = open_cockpit(tabs, desk)
    before = control_value(admin, "exec_mode")
    target = "off_market" if before != "off_market" else "off"
    form = page.locator('#controls form[data-key="exec_mode"]')
    field = form.get_by_label("Execution mode")
    expect(field).to_have_value(before)
    try:
        field.focus()
        field.select_option(target)
        page.keyboard.press("Tab")
        expect(form.get_by_role("button", name="Save")).to_be_focused()
        page.keyboard.press("Enter")
        expect(form).to_contain_text("Saved")
        assert control_value(admin, "exec_mode") == target
    finally:
        set_control(admin, "exec_mode", before)
    assert control_value(admin, "exec_mode") == before


def test_after_a_reconnect_the_lists_are_read_again(tabs: Tabs, desk: Desk, admin: httpx.Client) -> None:
    page = tabs.open("/cockpit")
    passed: list[Any] = []
    held: list[Any] = []
    gate = {"open": True}

    def socket(route: Any) -> None:
        if gate["open"]:
            route.connect_to_server()
            passed.append(route)
        else:
            held.append(route)  # open for the page, but the desk never answers it

    page.route_web_socket(re.compile(r"/v1/ws/closings$"), socket)
    log_in(page, desk.admin_key)
    state = page.locator("#stream-state")
    expect(state).to_have_text("Live")
    alerts = page.locator("#alert-list")

    gate["open"] = False
    passed[-1].close(code=1012, reason="restarting")
    expect(state).to_have_text("Connecting…")
    for _ in range(100):
        if held:
            break
        page.wait_for_timeout(100)
    assert held, "the page did not reconnect"
    raised = admin.post("/v1/admin/alerts/test")
    assert raised.status_code == 201, raised.text
    missed = alerts.locator(f'li[data-alert-id="{raised.json()["id"]}"]')
    page.wait_for_timeout(1000)
    expect(missed).to_have_count(0)  # the event went out while the page was away

    gate["open"] = True
    held[-1].close(code=1012, reason="restarting")
    expect(state).to_have_text("Live")
    expect(missed).to_be_visible()
    expect(missed).to_contain_text("Test alert")
    row = lp_rows(page, "horizon").first
    first = row.get_attribute("data-updated") or ""
    expect(row).not_to_have_attribute("data-updated", first, timeout=10000)  # ticks flow again
