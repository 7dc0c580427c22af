"""The page routes: ``/``, ``/admin``, ``/cockpit`` and ``/static/<file>``.

A page is its template rendered once per worker (it holds no data: the page's module asks
the API for that with the token the user logs in with), answered with the security headers
of ``pages.headers``. Static files come from ``pages.assets``.
"""

from __future__ import annotations

from typing import ClassVar

from jinja2 import Environment, PackageLoader, select_autoescape
from pydantic import RootModel
from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.errors import NotFound
from otc_framework.pages.assets import assets
from otc_framework.pages.headers import page_headers
from otc_framework.storage.models import Currency, Settlement, Tier
from otc_framework.web.endpoint import endpoint

bp = Blueprint("pages")

_templates = Environment(
    loader=PackageLoader("otc_framework.pages", "templates"),
    autoescape=select_autoescape(default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

# (path, template, title); the order is the navigation's.
PAGES = (
    ("/", "dashboard.html", "Dashboard"),
    ("/admin", "admin.html", "Admin"),
    ("/cockpit", "cockpit.html", "Cockpit"),
)


class PageHtml(RootModel[str]):
    """A page of the desk (HTML; its data comes from the API)."""

    openapi_media_type: ClassVar[str] = "text/html"


class StaticFile(RootModel[str]):
    """A script, style sheet or image of the pages."""

    openapi_media_type: ClassVar[str] = "application/octet-stream"


def render(request: Request, template: str) -> str:
    cache: dict[str, str] = request.app.ctx.__dict__.setdefault("pages_html", {})
    if template not in cache:
        cache[template] = _templates.get_template(template).render(
            desk=request.app.ctx.config.name,
            pages=PAGES,
            current=template,
            currencies=[c.value for c in Currency],
            settlements=[s.value for s in Settlement],
            tiers=[t.value for t in Tier],
        )
    return cache[template]


def _page(template: str, summary: str):  # noqa: ANN202 (a route handler factory)
    @endpoint(summary, auth="none", responses={200: PageHtml}, tags=("pages",))
    async def page(request: Request) -> HTTPResponse:
        headers = {**page_headers(request.host), "Cache-Control": "no-cache"}
        return HTTPResponse(render(request, template), headers=headers, content_type="text/html; charset=utf-8")

    return page


bp.add_route(_page("dashboard.html", "The client dashboard (log in with a client API key)"), "/", name="dashboard")
bp.add_route(_page("admin.html", "The admin panel (log in with an admin API key)"), "/admin", name="admin")
bp.add_route(_page("cockpit.html", "The operator cockpit (log in with an admin API key)"), "/cockpit", name="cockpit")


@bp.get("/static/<name:path>")
@endpoint("A static file of the pages", auth="none", responses={200: StaticFile}, errors=(NotFound,),
          tags=("pages",))
async def static_file(request: Request, name: str) -> HTTPResponse:
    asset = assets().get(name)
    if asset is None:
        raise NotFound("no such file")
    headers = {**page_headers(request.host), "ETag": asset.etag, "Cache-Control": "no-cache"}
    if request.headers.get("if-none-match") == asset.etag:
        return HTTPResponse(status=304, headers=headers)
    return HTTPResponse(asset.body, headers=headers, content_type=asset.content_type)
