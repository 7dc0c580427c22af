"""HS256 JWTs (SPEC §7). Claims: ``sub`` (client id), ``apiKeyHash``, ``clientName``,
``role``, ``groupId``, ``iat``, ``exp``; never the tier, which is looked up per request."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

import jwt

from otc_framework.auth.client_cache import ClientRecord
from otc_framework.errors import Unauthorized

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ("sub", "apiKeyHash", "clientName", "role", "iat", "exp")


@dataclass(frozen=True, slots=True)
class Claims:
    client_id: str
    api_key_hash: str
    client_name: str
    role: str
    group_id: str | None
    issued_at: int
    expires_at: int


class TokenService:
    def __init__(self, secret: str, ttl_hours: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_hours * 3600

    def issue(self, client: ClientRecord) -> tuple[str, datetime]:
        now = int(time.time())
        expires = now + self.ttl_seconds
        payload = {
            "sub": client.id,
            "apiKeyHash": client.api_key_hash,
            "clientName": client.name,
            "role": str(client.role),
            "groupId": client.group_id,
            "iat": now,
            "exp": expires,
        }
        return jwt.encode(payload, self._secret, algorithm=ALGORITHM), datetime.fromtimestamp(expires, UTC)

    def decode(self, token: str) -> Claims:
        try:
            data = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={"require": list(REQUIRED_CLAIMS)})
        except jwt.ExpiredSignatureError:
            raise Unauthorized("token expired") from None
        except jwt.InvalidTokenError:
            raise Unauthorized("invalid token") from None
        return Claims(
            client_id=str(data["sub"]),
            api_key_hash=str(data["apiKeyHash"]),
            client_name=str(data["clientName"]),
            role=str(data["role"]),
            group_id=data.get("groupId"),
            issued_at=int(data["iat"]),
            expires_at=int(data["exp"]),
        )
