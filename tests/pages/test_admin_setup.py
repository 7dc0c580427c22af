"""The admin panel's setup sections in Chromium: a client created with its key shown once, a
spread changed in place that prices the client's next quote, a control saved (and one out of
bounds refused), the year's holidays imported, added and removed, and a spread cell edited
with the keyboard alone."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.pages.conftest import Desk, Tabs, log_in

pytestmark = pytest.mark.xdist_group("pages-admin-setup")

# The desk runs with OTC_SANDBOX_SPOT=5.00, the spot reference of every quote in spot mode.
SPOT = Decimal("5.00")


@pytest.fixture(scope="module")
def admin(desk: Desk) -> Iterator[httpx.Client]:
    """One logged-in admin API client for the module (logging in per call would hit the rate limit)."""
    with desk.admin() as api:
        yield api


def open_admin(tabs: Tabs, desk: Desk) -> Any:
    page = tabs.open("/admin")
    log_in(page, desk.admin_key)
    expect(page.locator("#spread-grid")).to_be_visible()
    return page


def quote_price(api: httpx.Client) -> Decimal:
    answer = api.post("/v1/sessions", json={"currency": "USDT", "settlement": "D0", "amount": "1000"})
    answer.raise_for_status()
    return Decimal(answer.json()["price"])


def expected_price(spread_pct: Decimal) -> Decimal:
    """The pipeline's client price (otc_framework/pricing/pipeline.py) with no adjustment or adder."""
    return (SPOT * (1 + spread_pct / 100)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)


def spread(admin: httpx.Client) -> Decimal:
    return Decimal(admin.get("/v1/admin/spreads").json()["grid"]["T1"]["USDT"]["D0"])


def set_spread(admin: httpx.Client, value: Decimal) -> None:
    admin.put("/v1/admin/spreads/T1/USDT/D0", json={"spreadPct": str(value)}).raise_for_status()


def control_value(admin: httpx.Client, key: str) -> Any:
    items = admin.get("/v1/admin/controls").json()["items"]
    return next(item["value"] for item in items if item["key"] == key)


def pt(value: Decimal) -> str:
    return str(value).replace(".", ",")


def test_a_new_clients_key_is_shown_once_and_logs_in(tabs: Tabs, desk: Desk) -> None:
    page = open_admin(tabs, desk)
    clients = page.locator("#clients")
    name = f"pages-new-{uuid.uuid4().hex[:8]}"
    clients.get_by_label("Name", exact=True).fill(name)
    clients.get_by_label("Tier", exact=True).select_option("T3")
    with page.expect_response(lambda r: r.url.endswith("/v1/admin/clients") and r.request.method == "POST") as made:
        clients.get_by_role("button", name="Create client").click()
    assert made.value.status == 201
    box = page.locator(".key-once code")
    expect(box).to_have_text(re.compile(r"^otc_\S+$"))
    key = box.inner_text()
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    expect(clients.get_by_role("rowheader", name=name)).to_be_visible()

    login = httpx.post(f"{desk.url}/v1/auth/login", json={"apiKey": key}, timeout=10)
    assert login.status_code == 200 and login.json()["token"]

    assert key in page.content()
    clients.get_by_role("button", name="Done, hide the key").click()
    expect(page.locator(".key-once")).to_have_count(0)
    assert key not in page.content()
    assert key not in page.evaluate("JSON.stringify(sessionStorage) + JSON.stringify(localStorage)")
    page.reload()
    expect(clients.get_by_role("rowheader", name=name)).to_be_visible()
    row = clients.locator("tr", has=page.get_by_role("rowheader", name=name))
    expect(row).to_contain_text("T3")
    assert key not in page.content()


def test_a_changed_spread_prices_the_clients_next_quote(tabs: Tabs, desk: Desk, admin: httpx.Client) -> None:
    client = desk.api(desk.client(0)["apiKey"])  # T1
    old_spread = spread(admin)
    old_price = quote_price(client)
    assert old_price == expected_price(old_spread)
    new_spread = old_spread + Decimal("1.0")
    page = open_admin(tabs, desk)
    cell = page.get_by_label("T1 USDT D0 spread %")
    try:
        expect(cell).to_have_value(pt(old_spread))
        cell.fill(pt(new_spread))  # pt-BR, with a comma
        cell.press("Enter")
        expect(page.locator(".spread-cell", has=cell)).to_have_attribute("data-state", "saved")
        expect(page.locator(".spread-cell", has=cell)).to_contain_text("saved")
        assert spread(admin) == new_spread
        expected = expected_price(new_spread)
        assert expected > old_price
        # Every worker reloads the grid on its next request; give them a bounded while.
        deadline = time.monotonic() + 10
        price = quote_price(client)
        while price != expected and time.monotonic() < deadline:
            time.sleep(0.2)
            price = quote_price(client)
        assert price == expected

        # Not a decimal: refused in the page, nothing sent; Escape puts the saved value back.
        cell.fill("1.000,5")
        cell.press("Enter")
        expect(page.locator(".spread-cell", has=cell)).to_have_attribute("data-state", "error")
        cell.press("Escape")
        expect(cell).to_have_value(pt(new_spread))
        assert spread(admin) == new_spread
    finally:
        set_spread(admin, old_spread)
        client.close()
    expect(cell).to_have_value(pt(old_spread))  # the admin stream's spread.changed re-read the grid


def test_a_control_is_saved_and_one_out_of_bounds_is_refused(tabs: Tabs, desk: Desk, admin: httpx.Client) -> None:
    page = open_admin(tabs, desk)
    form = page.locator('form.control[data-key="min_order_amount"]')
    field = form.get_by_label("min_order_amount")
    old = control_value(admin, "min_order_amount")
    try:
        field.fill("500")
        form.get_by_role("button", name="Save").click()
        expect(form).to_contain_text("Saved")
        assert Decimal(control_value(admin, "min_order_amount")) == Decimal("500")
        expect(page.locator('.control-item[data-key="min_order_amount"]')).to_contain_text("changed by")

        field.fill("-1")
        form.get_by_role("button", name="Save").click()
        expect(form.locator(".error")).to_contain_text("not valid")
        assert Decimal(control_value(admin, "min_order_amount")) == Decimal("500")
    finally:
        admin.put("/v1/admin/controls/min_order_amount", json={"value": old}).raise_for_status()


def test_holidays_are_imported_added_and_removed(tabs: Tabs, desk: Desk, admin: httpx.Client) -> None:
    page = open_admin(tabs, desk)
    section = page.locator("#holidays")
    year = date.today().year + 1
    section.get_by_label("Year").select_option(str(year))
    expect(section.locator("tbody")).to_contain_text(f"No holidays in {year}")
    section.get_by_role("button", name="Import official holidays").click()
    expect(section).to_contain_text(re.compile(rf"{year}: [1-9][0-9]* holidays? added, 0 already listed"))
    added = int(re.search(r": (\d+) holiday", section.inner_text()).group(1))
    expect(section.locator("tbody tr")).to_have_count(added)
    expect(section.locator("tbody")).to_contain_text(f"01/01/{year}")

    label = f"Pages day {uuid.uuid4().hex[:6]}"
    section.get_by_label("Date").fill(f"{year}-08-14")
    section.get_by_label("Name").fill(label)
    section.get_by_label("Market").select_option("US")
    section.get_by_role("button", name="Add holiday").click()
    row = section.locator("tbody tr", has_text=label)
    expect(row).to_contain_text(f"14/08/{year}")
    expect(section.locator("tbody tr")).to_have_count(added + 1)

    remove = row.get_by_role("button")
    remove.click()
    expect(remove).to_have_text(f"Confirm: remove {label}")
    assert section.locator("tbody tr", has_text=label).count() == 1  # the first click only asks
    remove.click()
    expect(section.locator("tbody tr", has_text=label)).to_have_count(0)
    listed = admin.get("/v1/admin/holidays", params={"year": year}).json()["items"]
    assert len(listed) == added and label not in {h["label"] for h in listed}


def test_a_spread_cell_is_reached_with_tab_and_saved_with_enter(tabs: Tabs, desk: Desk, admin: httpx.Client) -> None:
    old_spread = spread(admin)
    page = open_admin(tabs, desk)
    cell = page.get_by_label("T1 USDT D0 spread %")
    expect(cell).to_have_value(pt(old_spread))
    new_spread = old_spread + Decimal("0.05")
    try:
        # The section's link moves the keyboard's starting point there; Tab reaches the first cell.
        page.get_by_role("link", name="Spreads", exact=True).focus()
        page.keyboard.press("Enter")
        page.keyboard.press("Tab")
        expect(cell).to_be_focused()
        page.keyboard.press("ControlOrMeta+A")
        page.keyboard.type(pt(new_spread))
        page.keyboard.press("Enter")
        expect(page.locator(".spread-cell", has=cell)).to_have_attribute("data-state", "saved")
        assert spread(admin) == new_spread
    finally:
        set_spread(admin, old_spread)
