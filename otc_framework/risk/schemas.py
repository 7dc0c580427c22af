"""How the desk's risk is shown to operators (``GET /v1/admin/exposure``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import Field

from otc_framework.risk.exposure import Exposure
from otc_framework.risk.spread_capture import SpreadCapture
from otc_framework.storage.models import Currency
from otc_framework.web.bodies import AmountText, AnswerModel, DecimalText


class SpreadCaptureView(AnswerModel):
    hedges: int = Field(description="Hedges filled today")
    amount: AmountText = Field(description="Their filled amount, in stablecoin units")
    avg_bps: DecimalText | None = Field(
        description="Spread capture in bps, (client price − fill) / fill × 10,000, weighted by filled amount, "
        "1 decimal; null when none")
    captured_brl: DecimalText = Field(description="Σ (client price − fill) × filled amount, in BRL, 2 decimals")

    @classmethod
    def of(cls, capture: SpreadCapture) -> SpreadCaptureView:
        return cls(hedges=capture.hedges, amount=capture.amount, avg_bps=capture.avg_bps,
                   captured_brl=capture.captured_brl)


class ExposureView(AnswerModel):
    open_by_currency: dict[Currency, AmountText] = Field(
        description="Notional of hedges not filled yet (pending, held, quoting, executing, unknown, failed), "
        "by hedge currency; skipped hedges are not exposure")
    open_total: AmountText
    limit: AmountText = Field(description="risk_max_open_exposure; above it quotes answer QUOTING_DISABLED (0 = none)")
    computed_at: datetime
    spread_capture_today: SpreadCaptureView = Field(description="Hedges filled on the current business day")

    @classmethod
    def of(cls, exposure: Exposure, limit: Decimal, capture: SpreadCapture) -> ExposureView:
        return cls(open_by_currency={Currency(c): v for c, v in exposure.by_currency.items()},
                   open_total=exposure.total, limit=limit, computed_at=exposure.computed_at,
                   spread_capture_today=SpreadCaptureView.of(capture))
