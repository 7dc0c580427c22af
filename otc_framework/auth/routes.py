"""``POST /v1/auth/login``: an API key in, a 12 h token out (SPEC §7)."""

from __future__ import annotations

from datetime import datetime

from pydantic import Field
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.audit import record
from otc_framework.auth.api_keys import hash_api_key
from otc_framework.auth.client_cache import ClientRecord
from otc_framework.auth.guard import client_ip
from otc_framework.auth.rate_limits import enforce
from otc_framework.errors import ApiDisabled, RateLimited, Unauthorized
from otc_framework.storage.models import AuditSource, Client, Role
from otc_framework.web.bodies import AnswerModel, RequestModel, answer, parse_body
from otc_framework.web.endpoint import endpoint

bp = Blueprint("auth")


class Login(RequestModel):
    api_key: str = Field(min_length=1, max_length=256, description="The client's raw API key")


class LoginAnswer(AnswerModel):
    token: str = Field(description="HS256 JWT; send as `Authorization: Bearer <token>`")
    expires_at: datetime


@bp.post("/v1/auth/login")
@endpoint(
    "Exchange an API key for a token",
    auth="none",
    request=Login,
    responses={200: LoginAnswer},
    errors=(Unauthorized, RateLimited, ApiDisabled),
    description="Attempts are rate-limited per caller IP. While the API is switched off only admins may log in.",
    tags=("auth",),
)
async def login(request: Request) -> HTTPResponse:
    runtime = request.app.ctx.runtime
    limits = runtime.config.rate_limits
    ip = client_ip(request)
    await enforce(runtime.store, f"login:{ip}", limits.login_burst, limits.login_per_second, "login attempts")
    body = parse_body(request, Login)
    row = await Client.get_or_none(api_key_hash=hash_api_key(body.api_key))
    if row is None or not row.active:
        # Audited without the key, or any part of it: a log reader must not learn keys.
        reason = "unknown key" if row is None else "client inactive"
        await record("LOGIN_FAILED", actor=row.name if row else "anonymous", source=AuditSource.API,
                     client_id=row.id if row else None, ip_address=ip, detail={"reason": reason})
        raise Unauthorized("invalid API key")
    client = ClientRecord.from_row(row)
    if client.role is not Role.ADMIN:
        reference, _ = await runtime.reference.current()
        if not reference.controls.flag("api_enabled"):
            raise ApiDisabled("the client API is switched off")
    token, expires_at = runtime.tokens.issue(client)
    return answer(LoginAnswer(token=token, expires_at=expires_at))

