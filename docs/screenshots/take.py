"""Take the README's screenshots of the three pages, light and dark (not a test).

    .venv/bin/python docs/screenshots/take.py

Starts ``otc demo`` on a free port with its own data directory, makes a few trades (hedged,
with ``exec_mode=auto_best``), walks one to paid, logs in on each page through its form with
the demo keys, and writes ``{dashboard,admin,cockpit}-{light,dark}.png`` here. Needs what the
browser tests need: Debian's Chromium at /usr/bin/chromium and the ``playwright`` package.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from playwright.sync_api import sync_playwright

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(ROOT))

from tests.pages.conftest import CHROMIUM, CHROMIUM_ARGS  # noqa: E402
from tests.test_demo import free_port, interrupt, wait_ready  # noqa: E402


def token(url: str, key: str) -> dict[str, str]:
    answer = httpx.post(f"{url}/v1/auth/login", json={"apiKey": key}, timeout=10).json()
    return {"Authorization": f"Bearer {answer['token']}"}


def trades(url: str, credentials: dict) -> None:
    admin = token(url, credentials["admin"]["apiKey"])
    httpx.put(f"{url}/v1/admin/controls/exec_mode", json={"value": "auto_best"}, headers=admin).raise_for_status()
    made = []
    for index, (currency, settlement, amount) in enumerate(
            [("USDT", "D0", "250000"), ("USDC", "D1", "100000,00"), ("USDT", "D2", "1500000")]):
        client = token(url, credentials["clients"][index]["apiKey"])
        quote = httpx.post(f"{url}/v1/sessions", headers=client, timeout=10,
                           json={"currency": currency, "settlement": settlement, "amount": amount.replace(",00", "")})
        quote.raise_for_status()
        closed = httpx.post(f"{url}/v1/sessions/{quote.json()['sessionId']}/close", headers=client, json={}, timeout=10)
        made.append(closed.json()["closingId"])
    for seen in ("pending", "funded"):
        httpx.post(f"{url}/v1/admin/closings/{made[0]}/advance", headers=admin, json={"from": seen}).raise_for_status()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        hedges = httpx.get(f"{url}/v1/admin/hedges", headers=admin).json()["items"]
        if sum(h["status"] == "filled" for h in hedges) >= len(made):
            return
        time.sleep(0.3)


def main() -> None:
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        data_dir = Path(tmp) / "demo"
        process = subprocess.Popen(
            [sys.executable, "-m", "otc_framework.cli", "demo", "--port", str(port), "--data-dir", str(data_dir)],
            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            env={**os.environ, "OTC_SANDBOX_SPOT": "5.00"},
        )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(url, process)
            credentials = json.loads((data_dir / "credentials.json").read_text())
            trades(url, credentials)
            shots(url, credentials)
        finally:
            interrupt(process)


def shots(url: str, credentials: dict) -> None:
    pages = [("dashboard", "/", credentials["clients"][0]["apiKey"], "#grid tbody tr"),
             ("admin", "/admin", credentials["admin"]["apiKey"], "#closings tbody tr[data-id]"),
             ("cockpit", "/cockpit", credentials["admin"]["apiKey"], "#hedges tbody tr[data-closing-id]")]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        for scheme in ("light", "dark"):
            for name, path, key, ready in pages:
                context = browser.new_context(base_url=url, color_scheme=scheme, viewport={"width": 1360, "height": 900},
                                              locale="pt-BR", timezone_id="America/Sao_Paulo")
                page = context.new_page()
                page.goto(path)
                page.get_by_label("API key").fill(key)
                page.get_by_role("button", name="Log in").click()
                page.locator("#login").wait_for(state="hidden")
                page.locator(ready).first.wait_for()
                if name == "dashboard":
                    page.get_by_label("Amount").fill("100.000,50")
                    page.get_by_role("button", name="Get quote").click()
                    page.get_by_role("timer").wait_for()
                if name == "admin":  # the trades, rather than the clients at the top
                    page.locator("#closings").evaluate("section => section.scrollIntoView()")
                page.wait_for_timeout(1500)  # a tick or two of the live feeds
                page.screenshot(path=str(HERE / f"{name}-{scheme}.png"), full_page=name != "admin")
                context.close()
        browser.close()


if __name__ == "__main__":
    main()
