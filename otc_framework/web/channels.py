"""What a chat channel plugin's webhook route needs from the desk: where to hand messages.

The desk puts its bot engine on ``app.ctx.chat_inbox`` when the runtime starts; a channel
plugin's blueprint (``otc_routes``) reaches it through ``chat_inbox(request)`` and never
imports the engine itself, so a channel stays a transport and the engine stays
channel-agnostic.
"""

from __future__ import annotations

from sanic import Request

from otc_framework.errors import NotReady
from otc_framework.ports import ChatInbox


def chat_inbox(request: Request) -> ChatInbox:
    """The desk's bot engine; ``NotReady`` while the worker is still starting."""
    inbox: ChatInbox | None = getattr(request.app.ctx, "chat_inbox", None)
    if inbox is None:
        raise NotReady("the desk is starting; retry shortly")
    return inbox
