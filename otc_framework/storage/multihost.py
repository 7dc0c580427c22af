"""The Tortoise engine for a multi-host PostgreSQL URL (``postgres://u@h1:5432,h2:5433/db``).

Tortoise's asyncpg client keeps a single port; asyncpg itself takes a list of hosts with a port
each and tries them in order, keeping the first that matches ``target_session_attrs``. This
engine is that client, handing asyncpg the list of ports it was given as ``ports``.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from tortoise.backends.asyncpg.client import AsyncpgDBClient


class MultiHostClient(AsyncpgDBClient):
    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        ports = kwargs.pop("ports")
        return await super().create_pool(**{**kwargs, "port": ports})


client_class = MultiHostClient
