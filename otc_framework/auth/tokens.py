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
# Tokens whose signature this worker has checked, oldest dropped first (one a client, at most
# a few per client in flight): a decode is a tenth of a quote's CPU.
CACHE_SIZE = 4096


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
        self._verified: dict[str, Claims] = {}

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
        """The claims of a valid token; ``Unauthorized`` otherwise.

        A signature checked once is remembered (``CACHE_SIZE`` tokens): it is a pure function of
        the token and the secret, so only the expiry is checked again. This caches no
        authorization: the caller still checks the client record on every request, which is
        what revokes a token at once.
        """
        known = self._verified.get(token)
        if known is not None:
            if known.expires_at <= time.time():
                del self._verified[token]
                raise Unauthorized("token expired")
            return known
        claims = self._verify(token)
        if len(self._verified) >= CACHE_SIZE:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = claims
        return claims

    def _verify(self, token: str) -> Claims:
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
