"""Telling everyone a hedge changed: the admin stream, plugins (``otc_hedge_recorded``),
``/metrics``, and operators' alerts when it failed, went unknown or is held. The engine and
the admin actions both report through here, after their change committed."""

from __future__ import annotations

from typing import Any

from otc_framework.admin.feed import AdminFeed, EventType
from otc_framework.alerts import kinds
from otc_framework.alerts.service import AlertService
from otc_framework.announce import announce
from otc_framework.execution.schemas import hedge_view
from otc_framework.metrics import HEDGES_RECORDED
from otc_framework.ports import Severity
from otc_framework.storage.models import Hedge, HedgeStatus

_ALERTS: dict[HedgeStatus, tuple[str, Severity, str]] = {
    HedgeStatus.FAILED: (kinds.HEDGE_FAILED, "critical", "Hedge failed"),
    HedgeStatus.UNKNOWN: (kinds.HEDGE_UNKNOWN, "critical", "Hedge outcome unknown"),
    HedgeStatus.HELD: (kinds.HEDGE_HELD, "warning", "Hedge held for an operator"),
}


class HedgeRecorder:
    def __init__(self, feed: AdminFeed, notify: Any, alerts: AlertService) -> None:
        self.feed = feed
        self.notify = notify
        self.alerts = alerts

    def changed(self, hedge: Hedge, *, alert: bool = True) -> None:
        view = hedge_view(hedge)
        HEDGES_RECORDED.labels(status=hedge.status.value, provider=hedge.provider or "none").inc()
        self.feed.emit(EventType.HEDGE_CHANGED, view)
        announce(self.notify, hedge=view)
        if alert and hedge.status in _ALERTS:
            kind, severity, title = _ALERTS[hedge.status]
            what = f"{hedge.amount.normalize():,f} {hedge.currency} {hedge.settlement} ({hedge.side})"
            where = f" on {hedge.provider}" if hedge.provider else ""
            self.alerts.raise_soon(
                kind, f"{title}: {what}{where}",
                f"Hedge {hedge.id} of closing {hedge.closing_id}, attempt {hedge.attempt}, order "
                f"{hedge.client_order_id or '-'}: {hedge.reason or hedge.status.value}.",
                severity=severity, key=f"hedge:{hedge.id}:{hedge.status.value}:{hedge.attempt}",
            )
