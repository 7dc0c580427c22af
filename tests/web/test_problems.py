"""Every error answer is problem+json with a trace id, and never a stack trace."""

from __future__ import annotations

import io
import json
import logging

import pytest
from sanic import Sanic

from otc_framework.errors import RateLimited
from otc_framework.logs import JsonFormatter, register_secrets
from otc_framework.plugins import build_plugin_host
from otc_framework.web import create_app
from tests.conftest import make_config

PROBLEM_KEYS = {"type", "title", "status", "code", "traceId"}


@pytest.fixture
async def app(migrated_database_url: str) -> Sanic:
    config = make_config(migrated_database_url)
    app = create_app(config, build_plugin_host(config, env={}), unique_name=True)

    @app.get("/boom")
    async def boom(request):  # an injected failure: a bug anywhere in a handler
        raise RuntimeError("secret internals: password=hunter2 at /srv/app.py line 3")

    @app.get("/limited")
    async def limited(request):
        raise RateLimited(7)

    return app


def assert_problem(response, status: int, code: str) -> dict:
    assert response.status == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json
    assert PROBLEM_KEYS <= set(body)
    assert body["status"] == status and body["code"] == code
    assert body["traceId"] == response.headers["X-Trace-Id"]
    assert "Traceback" not in response.text and "File \"" not in response.text
    return body


async def test_unknown_route_is_a_not_found_problem(app: Sanic) -> None:
    _, response = await app.asgi_client.get("/no/such/route")
    assert_problem(response, 404, "NOT_FOUND")


async def test_wrong_method_is_a_problem(app: Sanic) -> None:
    _, response = await app.asgi_client.post("/health")
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")


async def test_wrong_method_lists_the_methods_the_path_has(app: Sanic) -> None:
    # RFC 9110: a 405 carries Allow. Sanic named the methods only for paths without parameters.
    for method, path, allowed in (
        ("TRACE", "/health", "GET"),
        ("DELETE", "/v1/admin/clients", "GET, POST"),
        ("TRACE", "/v1/admin/clients/d41228b1-3276-4311-aa00-22590671f49f", "GET, PATCH"),
        ("PUT", "/v1/admin/holidays/7", "DELETE"),
        ("POST", "/v1/ws/prices", "GET"),
    ):
        _, response = await app.asgi_client.request(method, path)
        assert_problem(response, 405, "METHOD_NOT_ALLOWED")
        assert response.headers["Allow"] == allowed, (method, path)


async def test_injected_exception_is_internal_without_details(app: Sanic, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        _, response = await app.asgi_client.get("/boom")
    body = assert_problem(response, 500, "INTERNAL")
    assert "detail" not in body
    assert "hunter2" not in response.text and "RuntimeError" not in response.text
    logged = [r for r in caplog.records if r.getMessage() == "unhandled exception"]
    assert logged, "the failure must reach the log"
    line = JsonFormatter().format(logged[0])
    assert json.loads(line)["traceId"] == body["traceId"]
    assert "hunter2" not in line


async def test_problem_headers_carry_retry_after(app: Sanic) -> None:
    _, response = await app.asgi_client.get("/limited")
    assert_problem(response, 429, "RATE_LIMITED")
    assert response.headers["Retry-After"] == "7"


async def test_trace_id_from_the_caller_is_kept(app: Sanic) -> None:
    _, response = await app.asgi_client.get("/health", headers={"X-Trace-Id": "lb-0123456789abcdef"})
    assert response.status == 200
    assert response.headers["X-Trace-Id"] == "lb-0123456789abcdef"


async def test_malformed_trace_id_is_replaced(app: Sanic) -> None:
    _, response = await app.asgi_client.get("/no/such", headers={"X-Trace-Id": "bad id\nwith newline"})
    body = assert_problem(response, 404, "NOT_FOUND")
    assert body["traceId"] != "bad id\nwith newline"


def test_log_lines_redact_secrets() -> None:
    register_secrets(["sup3r-s3cret-value"])
    stream = io.StringIO()
    logger = logging.getLogger("otc-redaction-test")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    try:
        logger.warning(
            "login with otc_abcdefghijklmnopqrstuvwxyz012345 and Bearer eyJhbGciOi.eyJzdWIi.c2ln ws?token=abc123",
            extra={"api_key": "raw-key", "headers": {"Authorization": "Bearer x"}, "note": "sup3r-s3cret-value"},
        )
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue()
    for leaked in ("otc_abcdefghijklmnopqrstuvwxyz012345", "eyJhbGciOi", "abc123", "raw-key", "sup3r-s3cret-value"):
        assert leaked not in line
    assert json.loads(line)["api_key"] == "[REDACTED]"
