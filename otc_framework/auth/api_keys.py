"""API keys: generated with the ``otc_`` prefix (so the log redactor and secret scanners
recognise them), stored only as their SHA-256 hex digest, looked up by that digest."""

from __future__ import annotations

import hashlib
import secrets

PREFIX = "otc_"


def generate_api_key() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def hash_api_key(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()
