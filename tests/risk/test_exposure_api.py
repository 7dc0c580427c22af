"""``GET /v1/admin/exposure``: the open exposure read from the database when asked, its limit,
and the spread capture of the hedges filled on the current business day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from otc_framework.storage.models import HedgeStatus
from tests.admin.support import refused
from tests.desk import Desk, bearer
from tests.risk.support import hedge, today

EXPOSURE = "/v1/admin/exposure"


async def test_nothing_open_and_nothing_filled(desk: Desk) -> None:
    _, admin = await desk.admin()
    shown = (await desk.http.get(EXPOSURE, headers=bearer(admin))).json()
    assert (shown["openByCurrency"], shown["openTotal"], shown["limit"]) == (
        {"USDT": "0", "USDC": "0"}, "0", "20000000")
    assert datetime.fromisoformat(shown["computedAt"]) <= datetime.now(UTC)
    assert shown["spreadCaptureToday"] == {"hedges": 0, "amount": "0", "avgBps": None, "capturedBrl": "0.00"}


async def test_the_figures(desk: Desk) -> None:
    client_id, _ = await desk.client()
    _, admin = await desk.admin()
    day = await today(desk)
    now = datetime.now(UTC)
    await desk.set_control("risk_max_open_exposure", "5000000")
    await hedge(client_id, "150000", HedgeStatus.PENDING)
    await hedge(client_id, "80000", HedgeStatus.EXECUTING, currency="USDC", filled="30000")
    await hedge(client_id, "90000", HedgeStatus.SKIPPED)
    # Filled today: (5.2531 − 5.2510) / 5.2510 × 10,000 = 4.0 bps, and 9.98 bps on three times the amount.
    await hedge(client_id, "100000", HedgeStatus.FILLED, filled="100000", client_price="5.2531",
                fill_price="5.2510", filled_at=now)
    await hedge(client_id, "300000", HedgeStatus.FILLED, filled="300000", currency="USDC", client_price="5.0150",
                fill_price="5.0100", filled_at=now)
    # Filled the business day before: not today's.
    await hedge(client_id, "500000", HedgeStatus.FILLED, filled="500000", client_price="5.2531",
                fill_price="5.0000", filled_at=day.start - timedelta(minutes=1))

    shown = (await desk.http.get(EXPOSURE, headers=bearer(admin))).json()
    assert (shown["openByCurrency"], shown["openTotal"], shown["limit"]) == (
        {"USDT": "150000", "USDC": "50000"}, "200000", "5000000")
    assert shown["spreadCaptureToday"] == {
        "hedges": 2, "amount": "400000", "avgBps": "8.5", "capturedBrl": "1710.00"}


async def test_one_filled_hedge_captures_the_spec_example(desk: Desk) -> None:
    client_id, _ = await desk.client()
    _, admin = await desk.admin()
    await hedge(client_id, "100000", HedgeStatus.FILLED, filled="100000", client_price="5.2531",
                fill_price="5.2510", filled_at=datetime.now(UTC))
    shown = (await desk.http.get(EXPOSURE, headers=bearer(admin))).json()
    assert shown["spreadCaptureToday"] == {"hedges": 1, "amount": "100000", "avgBps": "4.0", "capturedBrl": "210.00"}


async def test_only_admins(desk: Desk) -> None:
    _, token = await desk.client()
    await refused(desk, "GET", EXPOSURE, token, 403, "FORBIDDEN")
    await refused(desk, "GET", EXPOSURE, None, 401, "UNAUTHORIZED")
