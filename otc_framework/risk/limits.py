"""The risk limits of the quote path (SPEC §10, Risk), checked after the amount rules and before
pricing.

- ``risk_max_open_exposure`` (0 = none): while the followed open exposure is above it, no new
  quote (``QUOTING_DISABLED``). Read from this worker's ``ExposureWatch``, never the database;
  a worker that has not received a figure yet (a fresh desk) does not refuse on it.
- ``risk_client_daily_limit`` (0 = none): a quote that would take the client's closings of the
  current business day above it is refused (``VALIDATION_ERROR`` on ``amount``). Only this
  check reads the database, and only while the limit is set.

Both raise an alert for operators; the alert service deduplicates them desk-wide, and each
worker also holds back its own repeats (an exposure alert at most once per ``NOTICE_SECONDS``,
a client's limit once per business day), so a client retrying a refused quote costs no store
round trip per attempt.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from otc_framework.alerts import kinds
from otc_framework.alerts.service import AlertService
from otc_framework.auth.client_cache import ClientRecord
from otc_framework.controls.values import Controls
from otc_framework.errors import QuotingDisabled, ValidationFailed
from otc_framework.reference import Reference
from otc_framework.risk.business_day import BusinessDay, business_day
from otc_framework.risk.client_volume import traded
from otc_framework.risk.watch import ExposureWatch

NOTICE_SECONDS = 60.0
EXPOSURE_ALERT_KEY = "risk:exposure"


def client_limit_alert_key(client_id: str, day: date) -> str:
    return f"risk:client_limit:{client_id}:{day.isoformat()}"


class RiskLimits:
    def __init__(self, watch: ExposureWatch, alerts: AlertService, zone: ZoneInfo,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.watch = watch
        self.alerts = alerts
        self.zone = zone
        self.clock = clock
        self._exposure_noticed_at = float("-inf")
        self._client_noticed_on: dict[str, date] = {}

    async def check(self, client: ClientRecord, amount: Decimal, reference: Reference, now: datetime) -> None:
        self._check_exposure(reference.controls)
        daily_limit = reference.controls.decimal("risk_client_daily_limit")
        if daily_limit > 0:
            await self._check_client_day(client, amount, daily_limit, business_day(reference.calendar, self.zone, now))

    def _check_exposure(self, controls: Controls) -> None:
        limit = controls.decimal("risk_max_open_exposure")
        exposure = self.watch.latest
        if limit <= 0 or exposure is None or exposure.total <= limit:
            return
        if self.clock() - self._exposure_noticed_at >= NOTICE_SECONDS:
            self._exposure_noticed_at = self.clock()
            owed = ", ".join(f"{amount.normalize():,f} {currency}" for currency, amount in exposure.by_currency.items())
            self.alerts.raise_soon(
                kinds.RISK_EXPOSURE, "Open exposure above the limit: quoting refused",
                f"Unhedged exposure {exposure.total.normalize():,f} ({owed}) is above risk_max_open_exposure "
                f"{limit.normalize():,f} (as of {exposure.computed_at.isoformat()}). New quotes answer QUOTING_DISABLED "
                "until hedges fill or the limit is raised.",
                severity="critical", key=EXPOSURE_ALERT_KEY,
            )
        raise QuotingDisabled("the desk's unhedged exposure is above its limit; try again later")

    async def _check_client_day(self, client: ClientRecord, amount: Decimal, limit: Decimal, day: BusinessDay) -> None:
        used = await traded(client.id, day.start, day.end)
        if used + amount <= limit:
            return
        if self._client_noticed_on.get(client.id) != day.day:
            self._client_noticed_on[client.id] = day.day
            self.alerts.raise_soon(
                kinds.RISK_CLIENT_LIMIT, f"Client daily limit reached: {client.name}",
                f"{client.name} asked for {amount.normalize():,f} with {used.normalize():,f} traded on {day.day} "
                f"against risk_client_daily_limit {limit.normalize():,f}; the quote was refused.",
                key=client_limit_alert_key(client.id, day.day),
            )
        left = max(limit - used, Decimal(0))
        raise ValidationFailed(
            f"amount: above the daily limit of {limit.normalize():f}; {left.normalize():f} left today", field="amount")
