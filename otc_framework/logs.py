"""Structured JSON logs, one line per event, with the trace id and redaction built in.

Redaction is the logger's job, not each call site's: every record passes ``Redactor`` before
it is formatted, which masks

- values of extra fields whose name says secret (``token``, ``api_key``, ``authorization``…),
- bearer tokens, JWTs, ``apikey=…``/``token=…`` pairs in any message or field text,
- every secret value the deployment knows (database and store URLs, JWT secret, plugin
  secrets), registered at start-up with ``register_secrets``.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

trace_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("trace_id", default=None)

REDACTED = "[REDACTED]"
_SECRET_KEY = re.compile(r"(pass(word)?|secret|token|api_?key|apikey|authorization|cookie|jwt|signature|sign)", re.I)
_PATTERNS = (
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*"),
    re.compile(r"(?i)\b(api_?key|apikey|token|secret|password)([\"']?\s*[=:]\s*[\"']?)[^\s&\"',}]+"),
    re.compile(r"\botc_[A-Za-z0-9_-]{20,}"),
)
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


class Redactor:
    def __init__(self) -> None:
        self._secrets: set[str] = set()

    def register(self, secrets: Iterable[str]) -> None:
        # Short values would mask ordinary words; real secrets are long.
        self._secrets.update(s for s in secrets if s and len(s) >= 6)

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            value = pattern.sub(_mask_match, value)
        return value

    def value(self, key: str, value: Any) -> Any:
        if _SECRET_KEY.search(key):
            return REDACTED
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {k: self.value(str(k), v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.value(key, v) for v in value]
        return value


def _mask_match(match: re.Match[str]) -> str:
    if match.re is _PATTERNS[2]:
        return f"{match.group(1)}{match.group(2)}{REDACTED}"
    return REDACTED


redactor = Redactor()


def register_secrets(secrets: Iterable[str]) -> None:
    redactor.register(secrets)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": redactor.text(record.getMessage()),
            "traceId": getattr(record, "traceId", None) or trace_id_var.get(),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and key not in entry:
                entry[key] = redactor.value(key, value)
        if record.exc_info:
            entry["exc"] = redactor.text(self.formatException(record.exc_info))
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(level: str = "INFO", stream: Any = None) -> None:
    """Route every logger (ours, Sanic's, libraries') through one JSON handler."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("sanic.root", "sanic.error", "sanic.access", "sanic.server", "sanic.websockets"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    # httpx logs every request URL at INFO; URLs may carry tokens of venues that use them.
    logging.getLogger("httpx").setLevel(logging.WARNING)
