"""How the admin closings API is asked and answers (SPEC §9). A closing itself is shown as
``closings.schemas.AdminClosing``, the one admin view of a closing."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from pydantic import Field

from otc_framework.admin.audit_schemas import AuditEntry, TimeWindowQuery
from otc_framework.closings.schemas import AdminClosing
from otc_framework.execution.schemas import HedgeView
from otc_framework.storage.models import ClosingStatus, Currency, Settlement
from otc_framework.web.bodies import AnswerModel, RequestModel


class AdminClosingQuery(TimeWindowQuery):
    status: ClosingStatus | None = None
    client_id: UUID | None = None
    currency: Currency | None = None
    settlement: Settlement | None = None


class AdminClosingPage(AnswerModel):
    items: list[AdminClosing]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next (older) page; null at the end")


class ClosingDetail(AnswerModel):
    closing: AdminClosing
    audit: list[AuditEntry] = Field(description="The closing's audit rows and its quote session's, oldest first")
    hedge: HedgeView | None


class SeenStatus(RequestModel):
    """The status the operator saw: the action applies only if the closing is still in it."""

    seen: ClosingStatus = Field(validation_alias="from", description="The status the operator saw")


class DeskDelivery(AnswerModel):
    outcome: Literal["accepted", "failed"]
    http_status: int | None
    attempts: int


class SentToDesk(AnswerModel):
    closing: AdminClosing
    desk: DeskDelivery
