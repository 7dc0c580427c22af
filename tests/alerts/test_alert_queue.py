"""The alert queue (SPEC §13): raised once per dedup window, routed per sink, delivered in
order by the leased loop, retried with the venue's back-off, a refusing sink stopped and shown
in health while the other delivers; listed for operators with every delivery."""

from __future__ import annotations

import asyncio
import inspect
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from otc_framework.errors import VenueRateLimited, VenueRefused
from otc_framework.storage.models import AlertDelivery, AlertRecord, AuditLog
from tests.alerts.conftest import sink
from tests.desk import Desk, bearer
from tests.scripted_sinks import down


async def eventually(check: Callable[[], Any], what: str, seconds: float = 15) -> Any:
    """Poll ``check`` (sync or async) until it is truthy; generous for a loaded machine."""
    for _ in range(int(seconds / 0.05)):
        result = check()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def statuses(alert_id: int) -> dict[str, str]:
    return {d.sink: d.status for d in await AlertDelivery.filter(alert_id=alert_id)}


async def raised(desk: Desk, kind: str = "test.kind", **kwargs: Any) -> AlertRecord:
    """An alert of a dedup key of its own."""
    kwargs.setdefault("key", uuid.uuid4().hex)
    record = await desk.runtime.alerts.raise_alert(kind, kwargs.pop("title", "Title"), kwargs.pop("detail", "Detail"),
                                                    **kwargs)
    assert record is not None
    return record


async def test_an_alert_reaches_every_sink_once_and_is_listed(alert_desk: Desk) -> None:
    record = await raised(alert_desk, title="Spot <b>down</b> & out", detail="line 1\nline 2")
    await eventually(lambda: len(sink("alpha").sent) == 1 and len(sink("beta").sent) == 1, "both delivered")
    assert (sink("alpha").sent[0].title, sink("alpha").sent[0].detail) == ("Spot <b>down</b> & out", "line 1\nline 2")
    assert sink("alpha").sent[0].raised_at is not None
    await eventually(lambda: statuses(record.id), "rows")
    assert await eventually(lambda: _all_sent(record.id), "rows sent")
    await asyncio.sleep(0.6)  # a few more turns of the loop: nothing is sent twice
    assert len(sink("alpha").sent) == 1 and len(sink("beta").sent) == 1
    assert await AuditLog.all().count() == 0  # alerts are listed, never audited


async def _all_sent(alert_id: int) -> bool:
    return set((await statuses(alert_id)).values()) == {"sent"}


async def test_a_repeat_within_the_window_is_dropped_but_another_key_is_not(alert_desk: Desk) -> None:
    alerts = alert_desk.runtime.alerts
    assert await alerts.raise_alert("spot.failing", "t", "d", key="spot:vp") is not None
    assert await alerts.raise_alert("spot.failing", "t", "d", key="spot:vp") is None
    assert await alerts.raise_alert("spot.failing", "t", "d", key="spot:other") is not None
    assert await AlertRecord.filter(kind="spot.failing").count() == 2


@pytest.mark.parametrize("alerts_tree", [{"sinks": {"alpha": {"min_severity": "critical"},
                                                    "beta": {"kinds": ["spot.*"]}}}])
async def test_routing_picks_sinks_by_severity_and_kind(alert_desk: Desk) -> None:
    info = await raised(alert_desk, "spot.failing", severity="info")
    critical = await raised(alert_desk, "trade.large", severity="critical")
    assert await statuses(info.id) == {"beta": "queued"} or set(await statuses(info.id)) == {"beta"}
    assert set(await statuses(critical.id)) == {"alpha"}


async def test_a_rate_limited_sink_delivers_after_the_back_off_in_order(alert_desk: Desk) -> None:
    alpha = sink("alpha")
    alpha.script.extend([VenueRateLimited("alpha", "429", 0.3), VenueRateLimited("alpha", "429", 0.3)])
    first = await raised(alert_desk, title="first")
    second = await raised(alert_desk, title="second")
    await eventually(lambda: [a.title for a in alpha.sent] == ["first", "second"], "alpha delivers both, in order")
    assert [a.title for a in sink("beta").sent] == ["first", "second"]
    row = await AlertDelivery.get(alert_id=first.id, sink="alpha")
    assert (row.status, row.attempts) == ("sent", 3)
    assert (await AlertDelivery.get(alert_id=second.id, sink="alpha")).attempts == 1


async def test_a_failing_sink_is_retried_then_given_up(alert_desk: Desk) -> None:
    alert_desk.runtime.config.alerts.__dict__["max_attempts"] = 3
    sink("alpha").script.extend([down("HTTP 503")] * 5)
    record = await raised(alert_desk)
    await eventually(lambda: _status_is(record.id, "alpha", "failed"), "alpha gives up")
    row = await AlertDelivery.get(alert_id=record.id, sink="alpha")
    assert row.attempts == 3 and "HTTP 503" in (row.last_error or "") and "gave up" in (row.last_error or "")
    await eventually(lambda: _status_is(record.id, "beta", "sent"), "beta delivers")


async def _status_is(alert_id: int, name: str, status: str) -> bool:
    return (await statuses(alert_id)).get(name) == status


async def test_a_refusing_sink_is_stopped_shown_in_health_and_the_other_delivers(alert_desk: Desk) -> None:
    sink("alpha").script.append(VenueRefused("alpha", "Bad Request: chat not found"))
    first = await raised(alert_desk, title="first")
    await eventually(lambda: _status_is(first.id, "alpha", "failed"), "alpha refused")
    second = await raised(alert_desk, title="second")
    await eventually(lambda: _status_is(second.id, "alpha", "failed"), "alpha stopped: later alerts fail too")
    await eventually(lambda: [a.title for a in sink("beta").sent] == ["first", "second"], "beta delivers both")
    assert sink("alpha").calls == 1  # stopped: never tried again
    row = await AlertDelivery.get(alert_id=second.id, sink="alpha")
    assert row.attempts == 0 and "sink stopped: Bad Request: chat not found" in (row.last_error or "")
    health = (await alert_desk.http.get("/health/ready")).json()
    assert health["status"] == "ready"
    assert health["alerts"]["alpha"]["state"] == "stopped"
    assert health["alerts"]["alpha"]["error"] == "Bad Request: chat not found"
    assert health["alerts"]["beta"] == {"state": "active", "error": None, "since": None}


async def test_a_hanging_sink_holds_up_only_itself(alert_desk: Desk) -> None:
    alert_desk.runtime.config.alerts.__dict__["send_timeout_seconds"] = 0.5
    sink("alpha").script.append(30.0)
    record = await raised(alert_desk)
    await eventually(lambda: len(sink("beta").sent) == 1, "beta delivers while alpha hangs")
    await eventually(lambda: _status_is(record.id, "alpha", "retrying"), "alpha's try abandoned")
    row = await AlertDelivery.get(alert_id=record.id, sink="alpha")
    assert "no answer within 0.5 s" in (row.last_error or "")
    await eventually(lambda: _status_is(record.id, "alpha", "sent"), "alpha's retry delivers")


async def test_admin_lists_alerts_with_deliveries_and_raises_a_test_alert(alert_desk: Desk) -> None:
    _, admin = await alert_desk.admin()
    response = await alert_desk.http.post("/v1/admin/alerts/test", headers=bearer(admin))
    assert response.status_code == 201, response.text
    made = response.json()
    assert made["kind"] == "test" and made["severity"] == "info"
    assert [(d["sink"], d["status"]) for d in made["deliveries"]] == [("alpha", "queued"), ("beta", "queued")]
    await eventually(lambda: _all_sent(made["id"]), "test alert sent")
    await raised(alert_desk, "spot.failing", severity="critical")
    page = (await alert_desk.http.get("/v1/admin/alerts?limit=1", headers=bearer(admin))).json()
    assert [a["kind"] for a in page["items"]] == ["spot.failing"] and page["nextCursor"]
    older = (await alert_desk.http.get(f"/v1/admin/alerts?cursor={page['nextCursor']}", headers=bearer(admin))).json()
    assert [a["id"] for a in older["items"]] == [made["id"]]
    sent = older["items"][0]["deliveries"]
    assert {d["status"] for d in sent} == {"sent"} and all(d["attempts"] == 1 and d["sentAt"] for d in sent)
    assert all(d["nextAttemptAt"] is None for d in sent)
    filtered = (await alert_desk.http.get("/v1/admin/alerts?severity=critical&kind=spot.failing",
                                          headers=bearer(admin))).json()
    assert len(filtered["items"]) == 1
    _, client = await alert_desk.client("plain")
    assert (await alert_desk.http.get("/v1/admin/alerts", headers=bearer(client))).status_code == 403
    assert (await alert_desk.http.post("/v1/admin/alerts/test")).status_code == 401


async def test_alerts_go_on_the_admin_stream(alert_desk: Desk) -> None:
    from otc_framework.admin.feed import CHANNEL
    from tests.admin.support import next_event

    subscription = await alert_desk.runtime.store.subscribe(CHANNEL)
    try:
        record = await raised(alert_desk, "trade.large", severity="warning")
        event = await next_event(subscription, "alert.raised")
    finally:
        await subscription.close()
    assert event["id"] == record.id and event["kind"] == "trade.large"
    assert {d["sink"] for d in event["deliveries"]} == {"alpha", "beta"}


async def test_spot_failing_and_recovered_are_alerted_once_each(alert_desk: Desk) -> None:
    from tests import scripted_plugin

    source = scripted_plugin.SOURCES[-1]
    source.script.extend([scripted_plugin.failing("HTTP 503")] * 5)
    failing = await eventually(lambda: AlertRecord.filter(kind="spot.failing").first(), "failing alert")
    assert failing.severity == "critical" and "HTTP 503" in failing.detail and "vp" in failing.title
    recovered = await eventually(lambda: AlertRecord.filter(kind="spot.recovered").first(), "recovered alert")
    assert recovered.severity == "info"
    assert await AlertRecord.filter(kind="spot.failing").count() == 1


async def test_a_large_trade_is_alerted_after_it_commits(alert_desk: Desk) -> None:
    _, token = await alert_desk.client()
    await alert_desk.set_control("alert_large_trade_amount", "50000")
    small = (await alert_desk.quote(token, amount="49999.99")).json()["sessionId"]
    assert (await alert_desk.close(token, small)).status_code == 201
    large = (await alert_desk.quote(token, amount="50000")).json()["sessionId"]
    closed = await alert_desk.close(token, large)
    assert closed.status_code == 201
    record = await eventually(lambda: AlertRecord.filter(kind="trade.large").first(), "large trade alert")
    assert closed.json()["closingId"] in record.detail and "50,000 USDT D0" in record.title
    assert record.dedup_key == f"trade:{closed.json()['closingId']}"
    await asyncio.sleep(0.2)
    assert await AlertRecord.filter(kind="trade.large").count() == 1
