"""The client dashboard in Chromium: the live grid, a quote locked and confirmed once, the
client's own trades, an expired quote that cannot be confirmed, a double click that makes one
closing, and the problems the desk answers shown as messages. Each test uses its own client,
so none sees another's trades."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.pages.conftest import Desk, Tabs, log_in

pytestmark = pytest.mark.xdist_group("pages-dashboard")

CLOSE = re.compile(r"/v1/sessions/[0-9a-f]{32}/close$")


def closings(desk: Desk, key: str) -> list[dict[str, Any]]:
    with desk.api(key) as api:
        answer = api.get("/v1/closings", params={"limit": 200})
    answer.raise_for_status()
    return answer.json()["items"]


def record_posts(page: Any, pattern: re.Pattern[str]) -> list[Any]:
    """Every POST the page sends whose URL path matches ``pattern``, as it leaves."""
    sent: list[Any] = []
    page.on("request", lambda request: sent.append(request)
            if request.method == "POST" and pattern.search(request.url.split("?")[0]) else None)
    return sent


def open_logged_in(tabs: Tabs, key: str, *, clock: bool = False) -> Any:
    page = tabs.open("/", clock=clock)
    log_in(page, key)
    # A price message has arrived: the grid is live and the clock offset is known.
    expect(page.locator("#grid")).to_have_attribute("data-at", re.compile(r"^\d{4}-\d\d-\d\dT"))
    return page


def ask_quote(page: Any, amount: str, *, currency: str = "USDT", settlement: str = "D0",
              validity: str = "Standard") -> None:
    page.get_by_label("Currency").select_option(currency)
    page.get_by_label("Settlement").select_option(settlement)
    page.get_by_label("Validity").select_option(label=validity)
    page.get_by_label("Amount").fill(amount)
    page.get_by_role("button", name="Get quote").click()


def test_a_client_sees_the_live_grid_quotes_confirms_and_finds_the_trade(tabs: Tabs, desk: Desk) -> None:
    key = desk.client(0)["apiKey"]
    page = open_logged_in(tabs, key)
    grid = page.locator("#grid")
    first = grid.get_attribute("data-at")
    expect(grid).not_to_have_attribute("data-at", first or "")  # the next second's grid replaced it
    expect(page.locator('td[data-cell="USDT-D0"]')).to_have_text(re.compile(r"^\d+,\d{4}"))
    expect(page.locator("#market")).to_have_text(re.compile("Market open"))

    sessions = record_posts(page, re.compile(r"/v1/sessions$"))
    ask_quote(page, "100.000,50")
    expect(page.locator("#locked")).to_be_visible()
    assert [request.post_data_json for request in sessions] == [
        {"currency": "USDT", "settlement": "D0", "amount": "100000.50"}  # standard validity: no field
    ]
    expect(page.locator("#locked-what")).to_have_text("Buy 100.000,50 USDT · settlement D0")
    expect(page.get_by_role("timer")).to_have_text(re.compile(r"^[1-9][0-9]? s$"))
    quoted = page.locator("#locked-price").inner_text()
    assert re.fullmatch(r"\d+,\d{4}", quoted)

    with page.expect_response(lambda response: bool(CLOSE.search(response.url))) as answered:
        page.get_by_role("button", name="Confirm trade").click()
    closing = answered.value.json()
    assert answered.value.request.post_data_json["oid"].startswith("web-")
    expect(page.locator("#trade-id")).to_have_text(closing["closingId"])
    expect(page.locator("#trade-price")).to_have_text(quoted)
    expect(page.locator("#confirm")).to_be_disabled()  # hidden with the quote, and done

    row = page.locator(f'#trades-body tr[data-closing-id="{closing["closingId"]}"]')
    expect(row).to_contain_text(closing["closingId"])
    expect(row.locator("td").nth(5)).to_have_text("100.000,50")
    expect(row.locator("td").nth(6)).to_have_text(quoted)
    made = closings(desk, key)
    assert [item["closingId"] for item in made] == [closing["closingId"]]
    assert Decimal(made[0]["amount"]) == Decimal("100000.50")


def test_a_quote_left_to_expire_cannot_be_confirmed(tabs: Tabs, desk: Desk) -> None:
    key = desk.client(1)["apiKey"]
    page = open_logged_in(tabs, key, clock=True)
    closes = record_posts(page, CLOSE)
    ask_quote(page, "2.000")
    timer = page.get_by_role("timer")
    expect(timer).to_have_text(re.compile(r"^[1-9][0-9]? s$"))
    confirm = page.get_by_role("button", name="Confirm trade")
    expect(confirm).to_be_enabled()

    page.clock.fast_forward(11000)  # beyond any validity (5 s, the default, 10 s)
    expect(confirm).to_be_disabled()
    expect(page.locator("#quote-note")).to_have_text("Expired, ask for a new quote.")
    expect(timer).to_have_text("0 s")
    page.evaluate("document.getElementById('confirm').click()")
    assert closes == []
    assert closings(desk, key) == []


def test_a_double_click_on_confirm_makes_one_closing(tabs: Tabs, desk: Desk) -> None:
    key = desk.client(2)["apiKey"]
    page = open_logged_in(tabs, key)
    closes = record_posts(page, CLOSE)
    before = len(closings(desk, key))

    ask_quote(page, "3.000", validity="10 s")
    page.get_by_role("button", name="Confirm trade").dblclick()
    trade_id = page.locator("#trade-id")
    expect(page.locator("#trade")).to_be_visible()
    first = trade_id.inner_text()
    assert len(closes) == 1  # one request, not two answered by the same OID

    ask_quote(page, "4.000", validity="10 s")
    expect(page.locator("#trade")).to_be_hidden()
    page.evaluate("""() => {
        const confirm = document.getElementById("confirm");
        confirm.dispatchEvent(new MouseEvent("click", { bubbles: true }));
        confirm.dispatchEvent(new MouseEvent("click", { bubbles: true }));
    }""")
    expect(page.locator("#trade")).to_be_visible()
    expect(trade_id).not_to_have_text(first)
    assert len(closes) == 2
    assert closes[0].post_data_json["oid"] != closes[1].post_data_json["oid"]  # one OID per quote

    made = closings(desk, key)
    assert len(made) == before + 2
    assert {item["closingId"] for item in made[:2]} == {first, trade_id.inner_text()}


def test_problems_show_as_messages(tabs: Tabs, desk: Desk) -> None:
    key = desk.client(3)["apiKey"]
    page = open_logged_in(tabs, key)
    sessions = record_posts(page, re.compile(r"/v1/sessions$"))
    amount = page.get_by_label("Amount")

    ask_quote(page, "1.5")  # 1,5 or 15? refused rather than guessed
    expect(page.locator("#q-amount-error")).to_have_text(re.compile("Type the amount as 100.000,50"))
    expect(amount).to_have_attribute("aria-invalid", "true")
    assert sessions == []

    ask_quote(page, "0,5")  # below the desk's smallest order: its VALIDATION_ERROR, next to the amount
    expect(page.locator("#q-amount-error")).to_have_text(re.compile("not valid"))
    assert len(sessions) == 1

    with desk.admin() as admin:
        admin.put("/v1/admin/controls/quoting_enabled", json={"value": False}).raise_for_status()
        try:
            ask_quote(page, "5.000")
            expect(page.locator("#quote-error")).to_have_text(re.compile("not taking quotes"))
            expect(page.locator("#q-amount-error")).to_be_empty()
            expect(page.locator("#locked")).to_be_hidden()
        finally:
            admin.put("/v1/admin/controls/quoting_enabled", json={"value": True}).raise_for_status()
    assert len(sessions) == 2


def test_a_confirm_whose_answer_was_lost_is_retried_with_the_same_oid(tabs: Tabs, desk: Desk) -> None:
    key = desk.client(4)["apiKey"]
    page = open_logged_in(tabs, key)
    closes = record_posts(page, CLOSE)
    lost: list[int] = []

    def lose_the_first_answer(route: Any) -> None:
        if lost:
            route.continue_()
            return
        lost.append(route.fetch().status)  # the desk records the closing; the page never hears back
        route.abort("connectionreset")

    page.route(CLOSE, lose_the_first_answer)
    ask_quote(page, "6.000", validity="10 s")
    page.get_by_role("button", name="Confirm trade").click()
    expect(page.locator("#close-error")).to_have_text(re.compile("cannot be reached.*same order id"))
    assert lost == [201]
    page.get_by_role("button", name="Retry confirm").click()
    expect(page.locator("#trade")).to_be_visible()

    assert len(closes) == 2 and closes[0].post_data_json == closes[1].post_data_json
    made = closings(desk, key)
    assert [item["closingId"] for item in made] == [page.locator("#trade-id").inner_text()]
    # The lost answer shows in Chromium's console as a failed load; it was provoked here.
    tabs.console[:] = [line for line in tabs.console if "ERR_CONNECTION_RESET" not in line]
