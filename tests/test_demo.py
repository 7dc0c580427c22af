"""``otc demo`` on a fresh data dir: ready within seconds, both spot sources fresh,
credentials written, keys kept out of the log."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).parents[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def demo_toml() -> str:
    """Sections a test adds to the demo's deployment file."""
    return ""


@pytest.fixture
def demo(tmp_path: Path, demo_toml: str):  # noqa: ANN201
    port = free_port()
    data_dir = tmp_path / "demo"
    log = (tmp_path / "demo.log").open("w+")
    config = tmp_path / "otc.toml"
    config.write_text((ROOT / "deployments/demo/otc.toml").read_text() + demo_toml)
    process = subprocess.Popen(
        [sys.executable, "-m", "otc_framework.cli", "demo", "--port", str(port), "--data-dir", str(data_dir),
         "--config", str(config)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True,
        env={**os.environ, "OTC_SANDBOX_SPOT": "5.00"},
    )
    try:
        yield f"http://127.0.0.1:{port}", data_dir, process, log
    finally:
        interrupt(process)
        log.close()


def interrupt(process: subprocess.Popen[str]) -> None:
    """Stop a served process as an operator's Ctrl-C would, then make sure nothing of its
    session (worker processes) outlives it to write into a store the test cleans up."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def wait_ready(url: str, process: subprocess.Popen[str]) -> dict:
    deadline = time.monotonic() + 60  # a generous bound for a loaded CI machine, not a speed claim
    while time.monotonic() < deadline:
        assert process.poll() is None, "the demo exited"
        try:
            response = httpx.get(f"{url}/health/ready", timeout=2)
            body = response.json()
            if response.status_code == 200 and all(s["fresh"] for s in body["spot"].values()):
                return body
        except (httpx.HTTPError, ValueError):  # not up yet, or not the demo answering yet
            pass
        time.sleep(0.2)
    raise AssertionError("demo never became ready")


def test_demo_serves_ready_with_both_spot_sources_fresh(demo) -> None:  # noqa: ANN001
    url, data_dir, process, log = demo
    body = wait_ready(url, process)
    assert set(body["spot"]) == {"valorpro", "binance"}
    assert body["spot"]["valorpro"]["instruments"].keys() == {"USD/BRL"}
    assert "USDT/BRL" in body["spot"]["binance"]["instruments"]
    # Every plugin's routes are in the API document (the demo enables them all).
    document = httpx.get(f"{url}/openapi.json", timeout=10)
    assert document.status_code == 200, document.text
    assert "/webhook/evolution/{secret_given}" in document.json()["paths"]

    credentials = json.loads((data_dir / "credentials.json").read_text())
    assert credentials["admin"]["apiKey"].startswith("otc_")
    assert [c["tier"] for c in credentials["clients"]] == [f"T{i}" for i in range(1, 8)]

    log.seek(0)
    logged = log.read()
    assert logged, "the demo logs as JSON lines"
    for line in logged.splitlines():
        json.loads(line)
    for key in [credentials["admin"]["apiKey"], *(c["apiKey"] for c in credentials["clients"])]:
        assert key not in logged


def test_an_interrupted_demo_stops_cleanly(demo) -> None:  # noqa: ANN001
    """Ctrl-C stops the desk, then its fakes, and exits 0 without a traceback (Sanic resets every
    app of the process once the desk's server returns; the fakes stop before that)."""
    url, _, process, log = demo
    wait_ready(url, process)
    interrupt(process)
    assert process.returncode == 0
    log.seek(0)
    assert "Traceback" not in log.read()


def poll(check, what: str):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + 30  # a bound for a loaded machine, not a speed claim
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    raise AssertionError(f"never happened: {what}")


def test_demo_fakes_every_outside_party(demo) -> None:  # noqa: ANN001
    """A test alert reaches the fake Telegram and Discord; send-to-desk reaches the fake desk."""
    url, data_dir, process, _ = demo
    wait_ready(url, process)
    credentials = json.loads((data_dir / "credentials.json").read_text())
    venues = credentials["venues"]
    assert set(venues) >= {"spot_valorpro", "spot_binance", "channel_telegram_alerts", "channel_discord", "desk"}
    for listed in venues.values():
        base = listed["url"] if isinstance(listed, dict) else listed
        assert httpx.get(f"{base}/_inbox", timeout=5).status_code == 200

    def login(key: str) -> dict[str, str]:
        token = httpx.post(f"{url}/v1/auth/login", json={"apiKey": key}).json()["token"]
        return {"Authorization": f"Bearer {token}"}

    admin = login(credentials["admin"]["apiKey"])
    raised = httpx.post(f"{url}/v1/admin/alerts/test", headers=admin)
    assert raised.status_code == 201, raised.text
    for sink in ("channel_telegram_alerts", "channel_discord"):
        poll(lambda sink=sink: httpx.get(f"{venues[sink]}/_inbox").json()["items"], f"{sink} got the alert")
    listed = poll(lambda: _all_sent(url, admin), "listed as sent to both")
    assert {d["sink"] for d in listed} == {"telegram", "discord"}

    client = credentials["clients"][0]
    session = httpx.post(f"{url}/v1/sessions", headers=login(client["apiKey"]),
                         json={"currency": "USDT", "settlement": "D1", "amount": "250000"}).json()["sessionId"]
    closing = httpx.post(f"{url}/v1/sessions/{session}/close", headers=login(client["apiKey"])).json()["closingId"]
    client_id = httpx.get(f"{url}/v1/admin/clients", params={"search": client["name"]}, headers=admin).json()["items"][0]["id"]
    httpx.patch(f"{url}/v1/admin/clients/{client_id}", headers=admin, json={"counterpartyId": "CP-9"})
    for seen in ("pending", "funded"):
        assert httpx.post(f"{url}/v1/admin/closings/{closing}/advance", headers=admin, json={"from": seen}).is_success
    sent = httpx.post(f"{url}/v1/admin/closings/{closing}/send-to-desk", headers=admin, json={"from": "paid"})
    assert sent.status_code == 200 and sent.json()["desk"]["outcome"] == "accepted", sent.text
    [booked] = httpx.get(f"{venues['desk']}/_inbox").json()["items"]
    assert booked["idempotencyKey"] == closing and booked["body"]["flow"] == "D1D1"
    assert booked["body"]["trade"]["closingId"] == closing and booked["body"]["counterparty"] == "CP-9"


def _all_sent(url: str, admin: dict[str, str]) -> list[dict] | None:
    deliveries = httpx.get(f"{url}/v1/admin/alerts?kind=test", headers=admin).json()["items"][0]["deliveries"]
    return deliveries if {d["status"] for d in deliveries} == {"sent"} else None


def test_demo_lps_live_and_lp_quote_mode_with_its_fallback(demo) -> None:  # noqa: ANN001
    """Both LPs live in the feed and health; LP quote mode prices off the cheapest; a feed
    stopped by /_fault falls back to spot once, told once, and the client sees the same shape."""
    from websockets.sync.client import connect

    url, data_dir, process, _ = demo
    wait_ready(url, process)
    credentials = json.loads((data_dir / "credentials.json").read_text())
    nonco = credentials["venues"]["lp_nonco"]

    def login(key: str) -> dict[str, str]:
        token = httpx.post(f"{url}/v1/auth/login", json={"apiKey": key}).json()["token"]
        return {"Authorization": f"Bearer {token}"}

    admin = login(credentials["admin"]["apiKey"])
    client = login(credentials["clients"][0]["apiKey"])

    def control(key: str, value: object) -> None:
        assert httpx.put(f"{url}/v1/admin/controls/{key}", headers=admin, json={"value": value}).is_success

    def feed() -> dict:
        return httpx.get(f"{url}/v1/admin/lp-feed", headers=admin).json()["providers"]

    def trade(currency: str) -> tuple[dict, dict]:
        session = httpx.post(f"{url}/v1/sessions", headers=client,
                             json={"currency": currency, "settlement": "D0", "amount": "100000"}).json()
        closed = httpx.post(f"{url}/v1/sessions/{session['sessionId']}/close", headers=client).json()
        row = httpx.get(f"{url}/v1/admin/closings/{closed['closingId']}", headers=admin).json()["closing"]
        return closed, row

    poll(lambda: all(p["prices"] for p in feed().values()) and len(feed()) == 2, "both LPs priced")
    health = httpx.get(f"{url}/health/ready").json()["lp"]
    assert set(health) == {"nonco", "horizon"} and all(h["fresh"] for h in health.values())
    control("lp_feed_nonco_usdt_enabled", True)
    poll(lambda: any(p["currency"] == "USDT" for p in feed()["nonco"]["prices"]), "nonco USDT D0 polled")

    control("exec_poll_interval_ms", 60000)  # hold the snapshot still while comparing
    time.sleep(2.5)
    snapshot = feed()
    asks = {name: next(p["ask"] for p in prov["prices"] if (p["currency"], p["settlement"]) == ("USDC", "D0"))
            for name, prov in snapshot.items()}
    control("lp_quote_mode_enabled", True)
    lp_answer, row = trade("USDC")
    cheapest = min(asks, key=lambda name: Decimal(asks[name]))
    assert (row["referenceMode"], row["referencePrice"].rstrip("0")) == (f"lp:{cheapest}", asks[cheapest].rstrip("0"))
    control("exec_poll_interval_ms", 2000)

    with connect(f"{url.replace('http', 'ws')}/v1/ws/closings?token={admin['Authorization'][7:]}") as stream:
        httpx.post(f"{nonco}/_fault", json={"status": 503, "count": 100000})
        httpx.post(f"{nonco}/_fault", json={"stream": True, "drop": True})

        def stale() -> bool:
            usdt = [p for p in feed()["nonco"]["prices"] if p["currency"] == "USDT"]
            return bool(usdt) and usdt[0]["ageSeconds"] > 10.5
        poll(stale, "nonco's feed stopped")
        fallback_answer, fallback_row = trade("USDT")
        trade("USDT")
        assert fallback_row["referenceMode"] == "spot-fallback"
        assert set(fallback_answer) == set(lp_answer)
        events = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            try:
                events.append(json.loads(stream.recv(timeout=0.5)))
            except TimeoutError:
                continue
    assert len([e for e in events if e["type"] == "lp.fallback"]) == 1
    alerts = poll(lambda: httpx.get(f"{url}/v1/admin/alerts?kind=lp.fallback", headers=admin).json()["items"],
                  "the lp.fallback alert")
    assert len(alerts) == 1


def test_demo_hedges_a_trade_once_exec_mode_is_auto_best(demo) -> None:  # noqa: ANN001
    url, data_dir, process, _ = demo
    wait_ready(url, process)
    credentials = json.loads((data_dir / "credentials.json").read_text())

    def login(key: str) -> dict[str, str]:
        token = httpx.post(f"{url}/v1/auth/login", json={"apiKey": key}).json()["token"]
        return {"Authorization": f"Bearer {token}"}

    admin = login(credentials["admin"]["apiKey"])
    switched = httpx.put(f"{url}/v1/admin/controls/exec_mode", headers=admin, json={"value": "auto_best"})
    assert switched.status_code == 200, switched.text
    client = login(credentials["clients"][0]["apiKey"])
    session = httpx.post(f"{url}/v1/sessions", headers=client,
                         json={"currency": "USDT", "settlement": "D1", "amount": "250000"}).json()["sessionId"]
    closing = httpx.post(f"{url}/v1/sessions/{session}/close", headers=client).json()["closingId"]

    def filled() -> dict | None:
        items = httpx.get(f"{url}/v1/admin/hedges", headers=admin).json()["items"]
        return next((h for h in items if h["closingId"] == closing and h["status"] == "filled"), None)

    hedge = poll(filled, "the trade hedged")
    assert (hedge["currency"], hedge["settlement"], hedge["amount"]) == ("USDC", "D1", "250000")
    assert hedge["provider"] in {"nonco", "horizon"} and hedge["spreadCaptureBps"] is not None


# The bot's rhythm sped up (the demo's own is 5 s a quote); the fake Evolution is the demo's.
QUICK_BOT = ("\n[bot]\nquote_interval_seconds = 0.5\noff_delay_seconds = 0.5\nclosing_window_seconds = 10.0\n"
             "[plugins.channel_whatsapp]\nper_chat_per_minute = 120\nper_minute = 600\n")


@pytest.mark.parametrize("demo_toml", [QUICK_BOT])
def test_demo_whatsapp_conversation_through_the_fake_evolution(demo) -> None:  # noqa: ANN001
    """/ref in a demo client's group: seven quotes, then Off, then /fecha books one Bot closing;
    the same in a group mapped to no client answers "(TESTE)" and books nothing."""
    url, data_dir, process, _ = demo
    wait_ready(url, process)
    credentials = json.loads((data_dir / "credentials.json").read_text())
    evolution = credentials["venues"]["channel_whatsapp"]
    assert evolution["instance"] == "otc-demo" and evolution["webhook"].startswith(f"{url}/webhook/evolution/")
    client = credentials["clients"][0]

    def texts(group: str) -> list[str]:
        return [i["text"] for i in httpx.get(f"{evolution['url']}/_inbox").json()["items"] if i["number"] == group]

    def say(group: str, text: str) -> None:
        said = httpx.post(f"{evolution['url']}/_say", json={"group": group, "participant": "5531999998888",
                                                             "text": text})
        assert said.status_code == 200, said.text

    for group in (client["groupId"], credentials["unmappedGroupId"]):
        say(group, "/ref 10k USDT D0")
        poll(lambda group=group: any("Off" in t for t in texts(group)), "the Off")
        say(group, "/fecha")
        poll(lambda group=group: any("Fechado" in t for t in texts(group)), "the confirmation")
        said = texts(group)
        assert [t.rsplit("(", 1)[-1] for t in said[:7]] == [f"{n}/7)" for n in range(1, 8)]

    assert all(t.startswith("(TESTE) ") for t in texts(credentials["unmappedGroupId"]))
    token = httpx.post(f"{url}/v1/auth/login", json={"apiKey": credentials["admin"]["apiKey"]}).json()["token"]
    closings = httpx.get(f"{url}/v1/admin/closings", headers={"Authorization": f"Bearer {token}"}).json()["items"]
    assert [(c["source"], c["clientName"]) for c in closings] == [("Bot", client["name"])]
