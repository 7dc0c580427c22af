"""How the admin hedges API is asked and answers (SPEC §9, §10). A hedge itself is shown as
``execution.schemas.HedgeView``, the one view of a hedge."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated
from uuid import UUID

from pydantic import Field

from otc_framework.admin.audit_schemas import AuditEntry, TimeWindowQuery
from otc_framework.admin.hedges import ManualFill
from otc_framework.execution.schemas import HedgeExecutionView, HedgeView
from otc_framework.sessions.service import AMOUNT_PLACES
from otc_framework.storage.models import HedgeStatus
from otc_framework.web.bodies import VISIBLE, AnswerModel, RequestModel
from otc_framework.web.decimals import DecimalInput

# The columns' room: an amount of up to 18 integer digits, a price of up to 10, 8 places.
Amount = Annotated[Decimal, DecimalInput(places=AMOUNT_PLACES, digits=15, positive=True)]
Price = Annotated[Decimal, DecimalInput(places=8, digits=9, positive=True)]


class HedgeQuery(TimeWindowQuery):
    """Without ``since``, ``until`` or ``closingId``, the current business day's hedges."""

    status: HedgeStatus | None = None
    provider: str | None = Field(None, max_length=64, description="Exact provider name, e.g. nonco")
    closing_id: UUID | None = None


class HedgePage(AnswerModel):
    items: list[HedgeView]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next (older) page; null at the end")


class HedgeDetail(AnswerModel):
    hedge: HedgeView
    executions: list[HedgeExecutionView] = Field(description="What the venue executed for it, oldest first")
    audit: list[AuditEntry] = Field(description="The hedge.* audit rows of its closing, oldest first")


class SeenHedgeStatus(RequestModel):
    """The status the operator saw: the action applies only if the hedge is still in it."""

    seen: HedgeStatus = Field(validation_alias="from", description="The status the operator saw")


class MarkFilled(SeenHedgeStatus):
    venue_reference: str = Field(min_length=1, max_length=128, pattern=VISIBLE,
                                 description="The venue's own id of the trade (execution) that filled the hedge")
    fill_price: Price
    amount: Amount | None = Field(None, description="Defaults to what is unfilled; any other amount is refused")
    provider: str | None = Field(None, min_length=1, max_length=64, pattern=VISIBLE,
                                 description="The venue that executed it; defaults to the hedge's provider")

    def fill(self) -> ManualFill:
        return ManualFill(self.venue_reference, self.fill_price, self.amount, self.provider)
