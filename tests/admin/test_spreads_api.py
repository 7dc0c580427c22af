"""The spread grids through the admin API (SPEC §4, §9, §14): edited one cell at a time,
audited with actor and IP, live on the next quote but never on a price already locked."""

from __future__ import annotations

from decimal import Decimal

from otc_framework.storage.models import AuditLog, Currency, LpSpread, Spread, Tier
from tests.admin.support import assert_by_operator, next_event, refused
from tests.desk import Desk, bearer

SPREADS = "/v1/admin/spreads"
LP_SPREADS = "/v1/admin/lp-spreads"


async def test_a_spread_change_prices_the_next_quote_not_an_open_session(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, client = await desk.client("acme", Tier.T1)
    await refused(desk, "GET", SPREADS, None, 401, "UNAUTHORIZED")
    await refused(desk, "GET", SPREADS, client, 403, "FORBIDDEN")
    listed = (await desk.http.get(SPREADS, headers=bearer(admin))).json()
    assert listed["grid"]["T1"]["USDT"] == {"D0": "0.3000", "D1": "0.1500", "D2": "0.0500"}
    assert list(listed["grid"]) == [f"T{n}" for n in range(1, 8)] and list(listed["grid"]["T3"]) == ["USDT", "USDC"]
    assert len(listed["cells"]) == 42
    assert set(listed["cells"][0]) == {"tier", "currency", "settlement", "spreadPct", "updatedAt", "updatedBy"}
    assert listed["cells"][0]["updatedBy"] is None

    cell = f"{SPREADS}/T1/USDT/D0"
    for path, body, field in (
        (f"{SPREADS}/T9/USDT/D0", {"spreadPct": "0.5"}, "tier"),
        (f"{SPREADS}/T1/EUR/D0", {"spreadPct": "0.5"}, "currency"),
        (f"{SPREADS}/T1/USDT/D3", {"spreadPct": "0.5"}, "settlement"),
        (cell, {"spreadPct": "10.0001"}, "spreadPct"),
        (cell, {"spreadPct": "-0.01"}, "spreadPct"),
        (cell, {"spreadPct": "0.12345"}, "spreadPct"),
        (cell, {"spreadPct": "lots"}, "spreadPct"),
        (cell, {"spreadPct": True}, "spreadPct"),
        (cell, {}, "spreadPct"),
        (cell, {"spreadPct": "0.5", "tier": "T2"}, "tier"),
    ):
        await refused(desk, "PUT", path, admin, 400, "VALIDATION_ERROR", field, json=body)
    await refused(desk, "PUT", cell, client, 403, "FORBIDDEN", json={"spreadPct": "0.5"})
    await refused(desk, "PUT", cell, None, 401, "UNAUTHORIZED", json={"spreadPct": "0.5"})
    assert await AuditLog.filter(action="spread.update").count() == 0
    assert (await Spread.get(tier="T1", currency="USDT", settlement="D0")).spread_pct == Decimal("0.3000")

    session = (await desk.quote(client)).json()
    assert session["price"] == "5.0150"
    sub = await desk.runtime.store.subscribe("admin")
    try:
        response = await desk.http.put(cell, headers=bearer(admin), json={"spreadPct": 0.50})  # a number, read exactly
        event = await next_event(sub, "spread.changed")
    finally:
        await sub.close()
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["tier"], changed["currency"], changed["settlement"], changed["spreadPct"], changed["updatedBy"]) == (
        "T1", "USDT", "D0", "0.5000", "operator")
    assert event == {**changed, "before": "0.3000", "actor": "operator"}
    [row] = await AuditLog.filter(action="spread.update")
    assert_by_operator(row)
    assert row.detail == {"tier": "T1", "currency": "USDT", "settlement": "D0", "before": "0.3000", "after": "0.5000"}

    closed = await desk.close(client, session["sessionId"])
    assert closed.status_code == 201 and closed.json()["price"] == "5.0150"  # the price it locked
    assert (await desk.quote(client)).json()["price"] == "5.0250"
    assert (await desk.quote(client, settlement="D1")).json()["price"] == "5.0075"  # other cells untouched
    listed = (await desk.http.get(SPREADS, headers=bearer(admin))).json()
    assert listed["grid"]["T1"]["USDT"]["D0"] == "0.5000"


async def test_an_lp_spread_may_be_cleared_and_set_again(desk: Desk) -> None:
    _, admin = await desk.admin()
    _, client = await desk.client("acme", Tier.T1)
    await refused(desk, "GET", LP_SPREADS, client, 403, "FORBIDDEN")
    listed = (await desk.http.get(LP_SPREADS, headers=bearer(admin))).json()
    assert listed["grid"]["T1"] == {"USDT": "0.1000", "USDC": "0.1000"} and len(listed["cells"]) == 14

    cell = f"{LP_SPREADS}/T1/USDT"
    for path, body, field in (
        (f"{LP_SPREADS}/T0/USDT", {"lpSpreadPct": "0.2"}, "tier"),
        (f"{LP_SPREADS}/T1/BRL", {"lpSpreadPct": "0.2"}, "currency"),
        (cell, {"lpSpreadPct": "11"}, "lpSpreadPct"),
        (cell, {"lpSpreadPct": "0.00001"}, "lpSpreadPct"),
        (cell, {}, "lpSpreadPct"),
    ):
        await refused(desk, "PUT", path, admin, 400, "VALIDATION_ERROR", field, json=body)
    await refused(desk, "PUT", cell, None, 401, "UNAUTHORIZED", json={"lpSpreadPct": None})
    assert await AuditLog.filter(action="lp_spread.update").count() == 0

    sub = await desk.runtime.store.subscribe("admin")
    try:
        cleared = await desk.http.put(cell, headers=bearer(admin), json={"lpSpreadPct": None})
        event = await next_event(sub, "lp_spread.changed")
    finally:
        await sub.close()
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["lpSpreadPct"], cleared.json()["updatedBy"]) == (None, "operator")
    assert event == {**cleared.json(), "before": "0.1000", "actor": "operator"}
    reference, _ = await desk.runtime.reference.current()
    assert reference.spreads.lp_spread(Tier.T1, Currency.USDT) is None
    assert reference.spreads.lp_spread(Tier.T1, Currency.USDC) == Decimal("0.1000")

    restored = await desk.http.put(cell, headers=bearer(admin), json={"lpSpreadPct": "0.25"})
    assert restored.json()["lpSpreadPct"] == "0.2500"
    reference, _ = await desk.runtime.reference.current()
    assert reference.spreads.lp_spread(Tier.T1, Currency.USDT) == Decimal("0.2500")
    assert (await LpSpread.get(tier="T1", currency="USDT")).updated_by == "operator"
    rows = await AuditLog.filter(action="lp_spread.update").order_by("id")
    for row in rows:
        assert_by_operator(row)
    assert [r.detail for r in rows] == [
        {"tier": "T1", "currency": "USDT", "before": "0.1000", "after": None},
        {"tier": "T1", "currency": "USDT", "before": None, "after": "0.2500"},
    ]
    # Spot mode ignores LP spreads: the client's price is unchanged.
    assert (await desk.quote(client)).json()["price"] == "5.0150"
