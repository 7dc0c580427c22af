"""The operator tasks ``otc`` scripts (issue 4 item 8): the same services as the admin API,
with the same validation and audit trail, printing JSON.

The actor is ``cli:<login name>`` with source Admin: a person operating the desk from a
shell, recorded as such (the API records the admin client's name and IP instead).
"""

from __future__ import annotations

import getpass
from datetime import date, datetime
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

import httpx

from otc_framework.admin import clients, hedges, holidays
from otc_framework.admin.access import Actor, Backoffice
from otc_framework.admin.client_schemas import ClientView, IssuedClient
from otc_framework.admin.hedge_schemas import HedgeQuery, MarkFilled
from otc_framework.admin.reference_schemas import ControlAnswer, HolidaysImported
from otc_framework.alerts import repository as alert_rows
from otc_framework.alerts.routes import raise_test_alert
from otc_framework.alerts.schemas import AlertView
from otc_framework.alerts.service import AlertService
from otc_framework.closings.verify import verify_closings
from otc_framework.config import DeploymentConfig
from otc_framework.controls import service as controls
from otc_framework.errors import NotFound
from otc_framework.execution.recorder import HedgeRecorder
from otc_framework.execution.schemas import hedge_view
from otc_framework.plugins import build_plugin_host
from otc_framework.storage.models import AuditSource, Client, Role, Tier
from otc_framework.web.bodies import validate
from otc_framework.web.pages import newest_first


def shell_actor() -> Actor:
    return Actor(f"cli:{getpass.getuser()}", AuditSource.ADMIN)


def _json(model: Any) -> Any:
    return model.model_dump(mode="json", by_alias=True)


async def client_id_of(id_or_name: str) -> str:
    """A client named by id or by exact name (operators script with names)."""
    try:
        return str(UUID(id_or_name))
    except ValueError:
        client = await Client.get_or_none(name=id_or_name)
        if client is None:
            raise NotFound(f"no client named {id_or_name!r}") from None
        return str(client.id)


async def list_all_clients(active: bool | None, search: str | None) -> list[Any]:
    found: list[Any] = []
    cursor = None
    while True:
        page, cursor = await clients.list_clients(active, search, 200, cursor)
        found += [_json(ClientView.of(c)) for c in page]
        if cursor is None:
            return found


async def create_client(office: Backoffice | None, name: str, tier: str, role: str, api_key: str | None,
                        group_id: str | None = None, participants: list[str] | None = None) -> Any:
    made = await clients.create_client(shell_actor(), name, Tier(tier), role=Role(role), api_key=api_key,
                                       group_id=group_id, bot_participants=participants, office=office)
    return _json(IssuedClient.issued(made.client, made.api_key))


async def set_active(office: Backoffice, id_or_name: str, active: bool) -> Any:
    client = await clients.set_client_active(office, shell_actor(), await client_id_of(id_or_name), active)
    return _json(ClientView.of(client))


async def rotate_key(office: Backoffice, id_or_name: str) -> Any:
    made = await clients.rotate_client_key(office, shell_actor(), await client_id_of(id_or_name))
    return _json(IssuedClient.issued(made.client, made.api_key))


async def import_holidays(office: Backoffice, year: int) -> Any:
    result = await holidays.import_holidays(office, shell_actor(), year)
    return _json(HolidaysImported.of(result))


async def set_control(office: Backoffice, key: str, value: str) -> Any:
    change = await controls.set_control(office, shell_actor(), key, value)
    return _json(ControlAnswer.of(change.state))


async def list_controls(office: Backoffice) -> Any:
    return [_json(ControlAnswer.of(state)) for state in await controls.list_controls(office)]


async def test_alert(office: Backoffice, config: DeploymentConfig) -> Any:
    """Queue a test alert for every enabled sink; a running server's delivery loop sends it
    (the queue is in the database, so this works with the demo's in-process store too)."""
    async with httpx.AsyncClient() as http:
        sinks = [sink.name for sink, _ in build_plugin_host(config).alert_sinks(http)]
    service = AlertService(office.store, office.feed, config.alerts, sinks)
    return _json(await raise_test_alert(service, shell_actor().name))


async def list_alerts(kind: str | None, severity: str | None, limit: int) -> Any:
    rows = await alert_rows.matching(kind, severity).order_by("-created_at", "-id").limit(limit)
    deliveries = await alert_rows.deliveries_of(rows)
    return [_json(AlertView.of(row, deliveries[row.id])) for row in rows]


async def verify_prices(since: datetime | None) -> Any:
    """Replay every closing's price and total from its snapshot (``otc closings verify``)."""
    return (await verify_closings(since)).as_json()


def hedge_recorder(office: Backoffice, config: DeploymentConfig) -> HedgeRecorder:
    """Reports a hedge change from a shell the way the runtime's recorder does: on the admin
    stream (through the store, so running workers' consoles see it), to plugins and to metrics.
    Operator actions report without an alert, so its alert service needs no sinks."""
    return HedgeRecorder(office.feed, office.hooks.otc_hedge_recorded,
                         AlertService(office.store, office.feed, config.alerts, []))


async def list_hedges(office: Backoffice, config: DeploymentConfig, status: str | None, provider: str | None,
                      day: date | None) -> Any:
    """Hedges created on ``day`` (a calendar day in the desk's zone, like the API's
    ``since=D&until=D+1``), or on the current business day as the API lists by default; the
    filters are validated by the API's own query model."""
    filters = validate(HedgeQuery, {k: v for k, v in (("status", status), ("provider", provider)) if v is not None})
    zone = ZoneInfo(config.market_hours.timezone)
    if day is None:
        reference, _ = await office.reference.current()
        since, until = hedges.today(reference.calendar, zone)
    else:
        since, until = hedges.on_day(day, zone)
    query = hedges.matching(status=filters.status, provider=filters.provider, since=since, until=until)
    found: list[Any] = []
    cursor = None
    while True:
        page, cursor = await newest_first(query, 200, cursor)
        found += [hedge_view(h) for h in page]
        if cursor is None:
            return found


async def retry_hedge(office: Backoffice, config: DeploymentConfig, hedge_id: str) -> Any:
    """The API's retry, from the status the hedge has now (a shell sees it as it acts)."""
    seen = (await hedges.hedge_of(hedge_id)).status
    return hedge_view(await hedges.retry(hedge_id, seen, actor=shell_actor(), recorder=hedge_recorder(office, config)))


async def release_hedge(office: Backoffice, config: DeploymentConfig, hedge_id: str) -> Any:
    seen = (await hedges.hedge_of(hedge_id)).status
    return hedge_view(await hedges.release(hedge_id, seen, actor=shell_actor(),
                                           recorder=hedge_recorder(office, config)))


async def mark_hedge_filled(office: Backoffice, config: DeploymentConfig, hedge_id: str,
                            given: dict[str, str | None]) -> Any:
    """The API's mark-filled; ``given`` (``venueReference``, ``fillPrice``, ``amount``,
    ``provider``, as typed) is validated by the API's own request model."""
    seen = (await hedges.hedge_of(hedge_id)).status
    body = validate(MarkFilled, {"from": seen.value, **{k: v for k, v in given.items() if v is not None}})
    return hedge_view(await hedges.mark_filled(hedge_id, seen, body.fill(), actor=shell_actor(),
                                               recorder=hedge_recorder(office, config)))
