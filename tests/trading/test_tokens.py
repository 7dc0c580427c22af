"""Tokens: a checked signature is remembered, its expiry is not."""

from __future__ import annotations

import time

import pytest

from otc_framework.auth import tokens
from otc_framework.auth.client_cache import ClientRecord
from otc_framework.auth.tokens import TokenService
from otc_framework.errors import Unauthorized
from otc_framework.storage.models import Role, Tier

SECRET = "s" * 40
CLIENT = ClientRecord("c1", "acme", Tier.T1, Role.CLIENT, True, None, "0" * 64, 0)


def test_a_token_decodes_the_same_from_memory_and_expires_on_time(monkeypatch: pytest.MonkeyPatch) -> None:
    service = TokenService(SECRET, 1)
    token, _ = service.issue(CLIENT)
    first = service.decode(token)
    assert service.decode(token) == first and first.client_id == "c1"
    later = time.time() + 3601
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    with pytest.raises(Unauthorized, match="token expired"):
        service.decode(token)
    assert token not in service._verified


def test_a_bad_token_is_refused_every_time() -> None:
    service = TokenService(SECRET, 1)
    forged, _ = TokenService("x" * 40, 1).issue(CLIENT)
    for _ in range(2):
        with pytest.raises(Unauthorized, match="invalid token"):
            service.decode(forged)


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "CACHE_SIZE", 3)
    service = TokenService(SECRET, 1)
    issued = [service.issue(ClientRecord(f"c{n}", "acme", Tier.T1, Role.CLIENT, True, None, "0" * 64, 0))[0]
              for n in range(5)]
    for token in issued:
        service.decode(token)
    assert len(service._verified) == 3 and issued[0] not in service._verified
