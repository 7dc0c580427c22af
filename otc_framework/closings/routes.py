"""``GET /v1/closings`` and ``GET /v1/closings/{id}``: the caller's own trades."""

from __future__ import annotations

from uuid import UUID

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.auth.guard import authenticate
from otc_framework.closings import repository
from otc_framework.closings.schemas import ClosingAnswer, ClosingPage, ClosingQuery
from otc_framework.errors import ApiDisabled, NotFound
from otc_framework.storage.models import Closing
from otc_framework.web.bodies import answer, parse_query
from otc_framework.web.endpoint import UUID_PARAM, endpoint
from otc_framework.web.pages import newest_first

bp = Blueprint("closings")


@bp.get("/v1/closings")
@endpoint("The caller's closings, newest first", auth="client", query=ClosingQuery, responses={200: ClosingPage},
          errors=(ApiDisabled,), tags=("trading",))
async def list_closings(request: Request) -> HTTPResponse:
    caller = await authenticate(request)
    query = parse_query(request, ClosingQuery)
    rows, cursor = await newest_first(Closing.filter(client_id=caller.client.id), query.limit, query.cursor)
    return answer(ClosingPage(items=[ClosingAnswer.of(r) for r in rows], next_cursor=cursor))


@bp.get("/v1/closings/<closing_id:str>")
@endpoint("One of the caller's closings", auth="client", responses={200: ClosingAnswer},
          errors=(NotFound, ApiDisabled), tags=("trading",), path={"closing_id": UUID_PARAM})
async def get_closing(request: Request, closing_id: str) -> HTTPResponse:
    caller = await authenticate(request)
    try:
        key = UUID(closing_id)
    except ValueError:
        raise NotFound("no such closing") from None
    row = await repository.find(id=key, client_id=caller.client.id)
    if row is None:
        raise NotFound("no such closing")
    return answer(ClosingAnswer.of(row))
