"""What every page does in Chromium: loads from the desk alone with no console error, keeps
its token per tab in sessionStorage, formats money from decimal strings exactly, and runs
under a policy that really blocks inline script."""

from __future__ import annotations

from typing import Any

import pytest

from tests.pages.conftest import Desk, Tabs, log_in

pytestmark = pytest.mark.xdist_group("pages-common")


@pytest.mark.parametrize("path", ["/", "/admin", "/cockpit"])
def test_each_page_loads_its_log_in_from_the_desk_alone(tabs: Tabs, path: str) -> None:
    page = tabs.open(path)
    assert page.get_by_role("button", name="Log in").is_visible()
    assert page.locator("#app").is_hidden()
    page.get_by_label("API key").focus()
    assert page.evaluate("document.activeElement.id") == "api-key"


def test_the_token_is_kept_per_tab_and_a_wrong_role_is_refused(tabs: Tabs, desk: Desk) -> None:
    page = tabs.open("/admin")
    page.get_by_label("API key").fill(desk.client(0)["apiKey"])
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("this is not an admin key").wait_for()
    assert page.evaluate("sessionStorage.length") == 0

    log_in(page, desk.admin_key)
    assert page.evaluate("Object.keys(sessionStorage)") == ["otc.token.admin"]
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.includes('token'))") == []
    page.reload()
    page.locator("#login").wait_for(state="hidden")  # a reload keeps the tab logged in
    page.get_by_role("button", name="Log out").click()
    page.get_by_role("button", name="Log in").wait_for()
    assert page.evaluate("sessionStorage.length") == 0

    other = tabs.open("/admin")  # another window starts logged out
    assert other.get_by_role("button", name="Log in").is_visible()


def test_money_is_formatted_in_pt_br_from_decimal_strings(tabs: Tabs) -> None:
    page = tabs.open("/")
    formatted: dict[str, Any] = page.evaluate("""async () => {
        const m = await import("/static/js/money.js");
        const refused = (text) => { try { m.parseAmount(text); return false; } catch { return true; } };
        return {
            brl: m.brl("5015.00"), huge: m.brl("123456789012345.6789"), price: m.price("5.0150"),
            amount: m.amount("100000.5"), exact: m.amount("123456789012345.678901"),
            parsed: [m.parseAmount("100.000,50"), m.parseAmount("250000"), m.parseAmount("1.000"), m.parseAmount("0,5")],
            refused: ["1.5", "1,000.50", "10k", "", "1.00,5", "-5", "1,1234567"].map(refused),
            compare: [m.compare("5.0150", "5.015"), m.compare("10", "9.99"), m.compare("-1", "0.5")],
            date: m.date("2026-12-02"),
        };
    }""")
    nbsp = "\u00a0"
    assert formatted["brl"] == f"R${nbsp}5.015,00"
    assert formatted["huge"] == f"R${nbsp}123.456.789.012.345,6789"  # no float has these digits
    assert formatted["price"] == "5,0150" and formatted["amount"] == "100.000,50"
    assert formatted["exact"] == "123.456.789.012.345,678901"
    assert formatted["parsed"] == ["100000.50", "250000", "1000", "0.5"]
    assert formatted["refused"] == [True] * 7
    assert formatted["compare"] == [0, 1, -1]
    assert formatted["date"] == "02/12/2026"


def test_the_policy_blocks_inline_script(tabs: Tabs) -> None:
    page = tabs.open("/")
    blocked = page.evaluate("""() => new Promise((resolve) => {
        document.addEventListener("securitypolicyviolation", (e) => resolve(e.violatedDirective));
        window.__ran = false;
        const script = document.createElement("script");
        script.textContent = "window.__ran = true";
        document.body.append(script);
        setTimeout(() => resolve(window.__ran ? "ran" : "silent"), 2000);
    })""")
    assert blocked.startswith("script-src")
    assert page.evaluate("window.__ran") is False
    # The violation is a console error by design; it was provoked here, so it is not the page's.
    tabs.console.clear()
