"""The admin panel's closings, audit log and alerts in Chromium: a trade advanced to settled,
a second tab's stale advance refused with a visible conflict, a double click moving one step,
the filters, the detail with its snapshot, trail and hedge, send-to-desk, the audit log
filtered by OID, and a test alert followed to its deliveries."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import WebSocketRoute, expect

from tests.pages.conftest import Desk, Tabs, log_in

pytestmark = pytest.mark.xdist_group("pages-admin-closings")


@pytest.fixture(scope="module")
def admin(desk: Desk) -> Iterator[httpx.Client]:
    """One logged-in admin API client for the module (logging in per call would hit the rate limit)."""
    with desk.admin() as api:
        yield api


@pytest.fixture(scope="module")
def client(desk: Desk) -> Iterator[httpx.Client]:
    with desk.api(desk.client(1)["apiKey"]) as api:
        yield api


def trade(client: httpx.Client, amount: str = "1000") -> dict[str, Any]:
    """A closing made over the API, as the admin panel lists it."""
    quote = client.post("/v1/sessions", json={"currency": "USDT", "settlement": "D1", "amount": amount})
    quote.raise_for_status()
    closed = client.post(f"/v1/sessions/{quote.json()['sessionId']}/close", json={})
    closed.raise_for_status()
    return closed.json()


def status(admin: httpx.Client, closing_id: str) -> str:
    return admin.get(f"/v1/admin/closings/{closing_id}").json()["closing"]["status"]


def advances(admin: httpx.Client, closing_id: str) -> int:
    rows = admin.get("/v1/admin/audit-logs", params={"closingId": closing_id, "action": "closing.advance"}).json()
    return len(rows["items"])


def open_admin(tabs: Tabs, desk: Desk, **options: Any) -> Any:
    page = tabs.open("/admin", **options)
    log_in(page, desk.admin_key)
    return page


def row_of(page: Any, closing_id: str) -> Any:
    return page.locator(f'#closings tr[data-id="{closing_id}"]')


def test_a_trade_is_advanced_to_settled(tabs: Tabs, desk: Desk, admin: httpx.Client, client: httpx.Client) -> None:
    page = open_admin(tabs, desk)
    closing = trade(client)["closingId"]
    row = row_of(page, closing)
    expect(row).to_have_attribute("data-status", "pending")  # arrived on the admin socket
    for step in ("funded", "paid", "settled"):
        row.get_by_role("button", name=f"Advance to {step}").click()
        expect(row).to_have_attribute("data-status", step)
        expect(page.locator("#closings")).to_contain_text(f"is now {step}")
    assert status(admin, closing) == "settled"
    expect(row.locator(".closing-actions button")).to_have_count(0)  # settled is final
    expect(page.locator("#closing-problem")).to_be_empty()


def test_a_second_tab_advancing_the_same_trade_sees_the_conflict(
        tabs: Tabs, desk: Desk, admin: httpx.Client, client: httpx.Client) -> None:
    closing = trade(client)["closingId"]
    first = open_admin(tabs, desk)

    # The second tab's socket loses the status events (a slow link, a laptop waking up), so it
    # still shows the trade pending when the first tab has moved it.
    second = tabs.open("/admin")

    def stale(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()
        server.on_message(lambda message: None if "closing.status_changed" in str(message) else socket.send(message))

    second.route_web_socket("**/v1/ws/closings", stale)
    log_in(second, desk.admin_key)
    expect(row_of(second, closing)).to_have_attribute("data-status", "pending")

    row_of(first, closing).get_by_role("button", name="Advance to funded").click()
    expect(row_of(first, closing)).to_have_attribute("data-status", "funded")
    expect(row_of(second, closing)).to_have_attribute("data-status", "pending")

    row_of(second, closing).get_by_role("button", name="Advance to funded").click()
    problem = second.get_by_role("alert").filter(has_text="Someone changed this meanwhile")
    expect(problem).to_be_visible()
    # The conflict re-read the trade: the stale tab now shows what the desk has.
    expect(row_of(second, closing)).to_have_attribute("data-status", "funded")
    assert status(admin, closing) == "funded" and advances(admin, closing) == 1


def test_a_double_click_moves_one_step(tabs: Tabs, desk: Desk, admin: httpx.Client, client: httpx.Client) -> None:
    page = open_admin(tabs, desk)
    closing = trade(client)["closingId"]
    row = row_of(page, closing)
    expect(row).to_have_attribute("data-status", "pending")
    row.get_by_role("button", name="Advance to funded").dblclick()
    expect(row).to_have_attribute("data-status", "funded")
    expect(row.get_by_role("button", name="Advance to paid")).to_be_enabled()
    assert status(admin, closing) == "funded" and advances(admin, closing) == 1


def test_the_filters_and_the_detail(tabs: Tabs, desk: Desk, admin: httpx.Client, client: httpx.Client) -> None:
    cancelled = trade(client)["closingId"]
    admin.post(f"/v1/admin/closings/{cancelled}/cancel", json={"from": "pending"}).raise_for_status()
    kept = trade(client, "2500")["closingId"]
    page = open_admin(tabs, desk)
    section = page.locator("#closings")
    expect(row_of(page, kept)).to_be_visible()

    section.get_by_label("Status").select_option("cancelled")
    section.get_by_role("button", name="Filter").click()
    expect(row_of(page, cancelled)).to_be_visible()
    expect(row_of(page, kept)).to_have_count(0)
    statuses = section.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.status)")
    assert statuses and set(statuses) == {"cancelled"}

    section.get_by_label("Status").select_option("")
    section.get_by_role("button", name="Filter").click()
    row_of(page, kept).get_by_role("button", name="Details").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("2.500,00 USDT")
    for column in ("Spot at quote", "Tier spread used", "USDT/USDC ratio", "Hedge", "Audit trail"):
        expect(dialog).to_contain_text(column)
    expect(dialog.locator("table.audit")).to_contain_text("CLOSE_SUCCESS")
    expect(dialog.locator(".facts").last).to_contain_text("skipped")  # the hedge, with exec_mode off
    # An action from the dialog moves the trade and the dialog shows it.
    dialog.get_by_role("button", name="Advance to funded").click()
    expect(dialog.locator(".facts").first).to_contain_text("funded")
    expect(dialog.locator("table.audit")).to_contain_text("closing.advance")
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()
    expect(row_of(page, kept)).to_have_attribute("data-status", "funded")


def test_a_paid_trade_is_sent_to_the_desk(tabs: Tabs, desk: Desk, admin: httpx.Client, client: httpx.Client) -> None:
    me = admin.get("/v1/admin/clients", params={"search": desk.client(1)["name"]}).json()["items"][0]
    admin.patch(f"/v1/admin/clients/{me['id']}", json={"counterpartyId": "CP-PAGES"}).raise_for_status()
    closing = trade(client)["closingId"]
    for seen in ("pending", "funded"):
        admin.post(f"/v1/admin/closings/{closing}/advance", json={"from": seen}).raise_for_status()
    page = open_admin(tabs, desk)
    row = row_of(page, closing)
    row.get_by_role("button", name="Send to desk").click()
    expect(page.locator("#closings")).to_contain_text("was sent to the desk")
    booked = httpx.get(f"{desk.venue('desk')}/_inbox", timeout=5).json()["items"]
    assert [b["idempotencyKey"] for b in booked].count(closing) == 1
    expect(row).to_have_attribute("data-status", "paid")  # sending changes no status


def test_the_audit_log_filtered_by_oid(tabs: Tabs, desk: Desk, client: httpx.Client) -> None:
    made = trade(client)
    page = open_admin(tabs, desk)
    section = page.locator("#audit")
    section.get_by_label("OID").fill(made["oid"])
    section.get_by_role("button", name="Filter").click()
    rows = section.locator("tbody tr")
    expect(rows.first).to_contain_text(made["oid"])
    # The unfiltered log already starts with this trade, so wait until no other row is left.
    expect(rows.filter(has_not_text=made["oid"])).to_have_count(0)
    expect(rows.filter(has_text="CLOSE_SUCCESS")).to_have_count(1)


def test_a_test_alert_is_sent_and_followed_to_its_deliveries(tabs: Tabs, desk: Desk) -> None:
    page = open_admin(tabs, desk)
    section = page.locator("#alerts")
    section.get_by_role("button", name="Send test alert").click()
    expect(section).to_contain_text("queued for")
    newest = section.locator("tbody tr").first
    expect(newest).to_have_attribute("data-kind", "test")
    # The deliveries are re-read until final: both fake sinks take it.
    for sink in ("telegram", "discord"):
        expect(newest.locator(f'li[data-sink="{sink}"]')).to_have_attribute("data-status", "sent", timeout=20000)
    inbox = httpx.get(f"{desk.venue('channel_discord')}/_inbox", timeout=5).json()["items"]
    assert any("test" in json.dumps(item).lower() for item in inbox)
