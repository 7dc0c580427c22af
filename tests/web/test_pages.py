"""The pages as HTTP sees them: each served with its security headers, every file it loads
is the desk's own and served, nothing inline, nothing from elsewhere (the browser tests in
``tests/pages`` check the same from inside Chromium)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from sanic import Sanic

from otc_framework.pages import routes as page_routes
from otc_framework.pages.assets import assets
from otc_framework.pages.headers import content_security_policy
from otc_framework.web.problems import ProblemErrorHandler
from tests.conftest import make_config

PATHS = ["/", "/admin", "/cockpit"]


@pytest.fixture
async def pages(loopback: Any, http: Any, tmp_path: Any) -> Any:
    app = Sanic(f"pages_{uuid.uuid4().hex[:8]}", error_handler=ProblemErrorHandler())
    app.ctx.config = make_config(f"sqlite://{tmp_path / 'otc.sqlite3'}")
    app.blueprint(page_routes.bp)
    server = await loopback(app)
    http.base_url = server.base_url
    return http


@pytest.mark.parametrize("path", PATHS)
async def test_a_page_is_served_with_a_strict_policy(pages: Any, path: str) -> None:
    response = await pages.get(path)
    assert response.status_code == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
    host = response.request.headers["host"]
    policy = response.headers["content-security-policy"]
    assert policy == content_security_policy(host)
    directives = dict(part.split(" ", 1) for part in policy.split("; "))
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert directives["connect-src"] == f"'self' ws://{host} wss://{host}"
    assert directives["default-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"

    html = response.text
    assert "http://" not in html and "https://" not in html
    assert " style=" not in html and "<style" not in html
    assert " on" not in re.sub(r"<[^>]*>", lambda tag: "" if not re.search(r"\son[a-z]+=", tag[0]) else " on", html)
    scripts = re.findall(r"<script\b[^>]*>", html)
    assert scripts and all('type="module"' in tag and 'src="/static/' in tag for tag in scripts)
    for reference in re.findall(r'(?:src|href)="(/static/[^"]+)"', html):
        loaded = await pages.get(reference)
        assert loaded.status_code == 200, reference


async def test_every_module_imports_only_the_desks_own_files(pages: Any) -> None:
    table = assets()
    modules = {name: asset for name, asset in table.items() if name.endswith(".js")}
    assert {"js/api.js", "js/money.js", "js/live.js", "js/dashboard.js", "js/admin.js", "js/cockpit.js"} <= set(modules)
    for name, asset in modules.items():
        text = asset.body.decode()
        assert "localStorage.setItem(\"otc.token" not in text
        assert "eval(" not in text and "new Function" not in text, name
        for imported in re.findall(r'^\s*(?:import|export)\b[^;]*?from\s+"([^"]+)"', text, re.M):
            assert imported.startswith("./") or imported.startswith("../"), (name, imported)
            folder = name.rsplit("/", 1)[0]
            parts = [*folder.split("/"), *imported.split("/")]
            resolved: list[str] = []
            for part in parts:
                if part == "..":
                    resolved.pop()
                elif part != ".":
                    resolved.append(part)
            assert "/".join(resolved) in table, (name, imported)


async def test_static_files_by_exact_name_with_revalidation(pages: Any) -> None:
    response = await pages.get("/static/js/money.js")
    assert response.status_code == 200 and response.headers["content-type"] == "text/javascript; charset=utf-8"
    assert response.headers["cache-control"] == "no-cache"
    again = await pages.get("/static/js/money.js", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    for missing in ("/static/js/nothing.js", "/static/../pyproject.toml", "/static/%2e%2e/routes.py",
                    "/static/desk.css/", "/static/"):
        assert (await pages.get(missing)).status_code == 404, missing


def test_a_host_that_is_not_a_host_adds_no_socket_origin() -> None:
    assert content_security_policy("desk.example:8443").endswith("connect-src 'self' ws://desk.example:8443 "
                                                                  "wss://desk.example:8443")
    assert content_security_policy("[::1]:8080").endswith("connect-src 'self' ws://[::1]:8080 wss://[::1]:8080")
    for bad in ("evil; script-src *", "a b", "", "x:99999999"):
        assert content_security_policy(bad).endswith("connect-src 'self'"), bad
