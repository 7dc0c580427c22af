"""Exact prices through the API (SPEC §3–§4), on every backend."""

from __future__ import annotations

from otc_framework.storage.models import Tier
from tests.desk import Desk, bearer


def board(body: dict) -> dict[tuple[str, str], str]:
    return {(p["currency"], p["settlement"]): p["price"] for p in body["prices"]}


async def test_t1_grid_at_spot_five(desk: Desk) -> None:
    _, token = await desk.client()
    response = await desk.http.get("/v1/prices", headers=bearer(token))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["marketOpen"] is True and body["nextOpen"] is None
    prices = board(body)
    assert prices[("USDT", "D0")] == "5.0150"
    assert prices[("USDT", "D1")] == "5.0075"
    assert prices[("USDT", "D2")] == "5.0025"
    assert len(prices) == 6


async def test_quotes_price_like_the_grid_with_exact_totals(desk: Desk) -> None:
    _, token = await desk.client()
    for settlement, price, total in (("D0", "5.0150", "501500.00"), ("D1", "5.0075", "500750.00"),
                                     ("D2", "5.0025", "500250.00")):
        response = await desk.quote(token, settlement=settlement)
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["price"], body["totalBrl"], body["amount"], body["side"]) == (price, total, "100000", "BUY")


async def test_json_number_amount_is_read_exactly_and_totals_round_half_up(desk: Desk) -> None:
    _, token = await desk.client()
    # 1000.10 × 5.0150 = 5015.5015 → 5015.50; 1234.5 × 5.0150 = 6191.0175 → 6191.02 (half-up)
    raw = b'{"currency":"USDT","settlement":"D0","amount":1000.10}'
    response = await desk.http.post("/v1/sessions", content=raw, headers={**bearer(token), "content-type": "application/json"})
    assert response.status_code == 201, response.text
    assert (response.json()["amount"], response.json()["totalBrl"]) == ("1000.1", "5015.50")
    response = await desk.quote(token, amount="1234.5")
    assert response.json()["totalBrl"] == "6191.02"


async def test_usdc_uses_the_ratio(desk: Desk) -> None:
    _, token = await desk.client()
    await desk.set_control("usdc_usdt_ratio", "1.0010")
    # 5.0000 × 1.0010 = 5.005 reference; × 1.0030 = 5.020015 → 5.0200
    response = await desk.quote(token, currency="USDC")
    assert response.json()["price"] == "5.0200"
    prices = board((await desk.http.get("/v1/prices", headers=bearer(token))).json())
    assert prices[("USDC", "D0")] == "5.0200"
    assert prices[("USDT", "D0")] == "5.0150"


async def test_spread_adjustment_applies_to_the_next_quote(desk: Desk) -> None:
    _, token = await desk.client()
    await desk.set_control("spread_adjustment", "0.10")
    # 5.0000 × (1 + (0.30 + 0.10) / 100) = 5.0200
    assert (await desk.quote(token)).json()["price"] == "5.0200"


async def test_validity_adders_and_ttls(desk: Desk) -> None:
    _, token = await desk.client()
    await desk.set_control("quote_validity_5s_spread_pct", "0.05")
    await desk.set_control("quote_validity_10s_spread_pct", "0.12")
    five = (await desk.quote(token, validitySeconds=5)).json()
    ten = (await desk.quote(token, validitySeconds=10)).json()
    default = (await desk.quote(token)).json()
    # 5 × 1.0035 = 5.0175; 5 × 1.0042 = 5.0210; default TTL 7 s has no adder
    assert (five["price"], ten["price"], default["price"]) == ("5.0175", "5.0210", "5.0150")
    for body, ttl in ((five, 5), (ten, 10), (default, 7)):
        left = await desk.runtime.store.ttl(f"session:{body['sessionId']}")
        assert left is not None and ttl - 2 < left <= ttl


async def test_tier_is_looked_up_per_request(desk: Desk) -> None:
    client_id, token = await desk.client(tier=Tier.T3)
    assert (await desk.quote(token)).json()["price"] == "5.0500"  # T3/USDT/D0 1.00 %


async def test_spot_change_reprices(desk: Desk) -> None:
    _, token = await desk.client()
    desk.spot("5.2000")
    await desk.wait_for_spot("5.2000")
    # 5.2 × 1.003 = 5.2156
    assert (await desk.quote(token)).json()["price"] == "5.2156"
