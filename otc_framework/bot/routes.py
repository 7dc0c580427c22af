"""``GET /v1/admin/bot/sessions``: every group's bot session the timed loop follows, live or
just ended, as the store holds it now (the admin stream's ``bot.session`` events follow each
change)."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.admin.access import admin_caller
from otc_framework.bot.views import BotSessionList, BotSessionView
from otc_framework.web.bodies import answer
from otc_framework.web.endpoint import endpoint

bp = Blueprint("admin_bot")


@bp.get("/v1/admin/bot/sessions")
@endpoint("Bot sessions, live or just ended, one per group", auth="admin", responses={200: BotSessionList},
          description="Each group's session with its state (quoting, closing_window, closing, terminated), the "
          "quotes it sent, and the trade a `/fecha` made. Ended sessions stay listed until the bot's timed loop "
          "drops them, a turn after they end.", tags=("admin",))
async def bot_sessions(request: Request) -> HTTPResponse:
    await admin_caller(request)
    sessions = await request.app.ctx.runtime.bot.live_sessions()
    ordered = sorted(sessions, key=lambda s: s.started_at, reverse=True)
    return answer(BotSessionList(items=[BotSessionView.of(s) for s in ordered]))
