"""The API document is generated from the routes' ``@endpoint`` declarations, validates as
OpenAPI 3.1, leaves no route undocumented, and is served as JSON and as a self-contained page."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from openapi_spec_validator import validate
from pydantic import BaseModel, ConfigDict, Field
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse, json

from otc_framework.errors import MarketClosed, NotFound, RateLimited, SessionAlreadyClosed
from otc_framework.web import create_app, openapi
from otc_framework.web.endpoint import endpoint
from otc_framework.web.openapi import UndocumentedRoute, build_openapi, openapi_document
from tests.conftest import make_config


class NewOrder(BaseModel):
    model_config = ConfigDict(extra="forbid")

    currency: Literal["USDT", "USDC"]
    amount: Decimal


class Order(BaseModel):
    order_id: uuid.UUID = Field(alias="orderId")
    amount: Decimal
    price: Decimal


class ItemQuery(BaseModel):
    limit: int = Field(default=20, ge=1, le=100, description="Page size")
    cursor: str | None = None


class Item(BaseModel):
    id: uuid.UUID
    name: str


class Tick(BaseModel):
    price: Decimal


class Stats(BaseModel):
    clients: int


def toy_blueprint() -> Blueprint:
    bp = Blueprint(f"toy_{uuid.uuid4().hex[:8]}")

    @bp.post("/v1/orders")
    @endpoint(
        "Place an order <now> & pay",
        auth="client",
        request=NewOrder,
        responses={201: Order},
        errors=(MarketClosed, SessionAlreadyClosed, RateLimited),
        tags=("orders",),
    )
    async def place_order(request: Request) -> HTTPResponse:
        return json({}, status=201)

    @bp.get("/v1/items/<item_id:uuid>")
    @endpoint("One item", auth="client", query=ItemQuery, responses={200: Item}, errors=(NotFound,), tags=("items",))
    async def get_item(request: Request, item_id: uuid.UUID) -> HTTPResponse:
        return json({})

    @bp.websocket("/v1/ws/ticks")
    @endpoint("Ticks", auth="client", websocket=True, description="A Tick every second.", responses={200: Tick})
    async def ticks(request: Request, ws: Any) -> None:
        return None

    @bp.get("/admin/stats")
    @endpoint("Desk statistics", auth="admin", responses={200: Stats})
    async def stats(request: Request) -> HTTPResponse:
        return json({})

    return bp


def toy_app() -> Sanic:
    app = Sanic(f"toy_{uuid.uuid4().hex[:8]}")
    app.blueprint(toy_blueprint())
    app.blueprint(openapi.bp)
    return app


def resolve(document: dict[str, Any], ref: str) -> dict[str, Any]:
    node: Any = document
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def all_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [*([node["$ref"]] if isinstance(node.get("$ref"), str) else []), *(r for v in node.values() for r in all_refs(v))]
    if isinstance(node, list):
        return [r for v in node for r in all_refs(v)]
    return []


@pytest.fixture
def document() -> dict[str, Any]:
    return build_openapi(toy_app())


def test_document_validates_as_openapi_31(document: dict[str, Any]) -> None:
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] and document["info"]["version"]
    validate(document)


def test_every_ref_resolves(document: dict[str, Any]) -> None:
    refs = all_refs(document)
    assert refs
    for ref in refs:
        assert ref.startswith("#/components/")
        assert isinstance(resolve(document, ref), dict)


def test_paths_and_operations(document: dict[str, Any]) -> None:
    assert set(document["paths"]) == {
        "/v1/orders", "/v1/items/{item_id}", "/v1/ws/ticks", "/admin/stats", "/openapi.json", "/docs",
    }
    assert set(document["paths"]["/v1/orders"]) == {"post"}
    ids = [op["operationId"] for item in document["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    assert document["paths"]["/openapi.json"]["get"]["operationId"] == "openapi.openapi_json"
    assert "security" not in document["paths"]["/docs"]["get"]


def test_request_body_is_validated_and_answer_decimals_are_strings(document: dict[str, Any]) -> None:
    post = document["paths"]["/v1/orders"]["post"]
    assert post["summary"] == "Place an order <now> & pay" and post["tags"] == ["orders"]
    request = resolve(document, post["requestBody"]["content"]["application/json"]["schema"]["$ref"])
    assert request["additionalProperties"] is False
    assert {"type": "number"} in request["properties"]["amount"]["anyOf"]  # a JSON number is accepted
    answer = resolve(document, post["responses"]["201"]["content"]["application/json"]["schema"]["$ref"])
    assert answer["properties"]["amount"]["type"] == "string"
    assert answer["properties"]["price"]["type"] == "string"
    assert "orderId" in answer["properties"]


def test_problem_responses_per_declared_error(document: dict[str, Any]) -> None:
    responses = document["paths"]["/v1/orders"]["post"]["responses"]
    assert set(responses) == {"201", "400", "401", "409", "413", "429"}
    assert responses["413"] == {"$ref": "#/components/responses/PAYLOAD_TOO_LARGE"}  # every operation
    conflict = responses["409"]  # two codes share the status
    assert set(conflict["x-problem-codes"]) == {"MARKET_CLOSED", "SESSION_ALREADY_CLOSED"}
    schema = conflict["content"]["application/problem+json"]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Problem"}
    limited = resolve(document, responses["429"]["$ref"])
    assert limited["x-problem-codes"] == ["RATE_LIMITED"] and "Retry-After" in limited["headers"]
    assert responses["400"] == {"$ref": "#/components/responses/VALIDATION_ERROR"}
    problem = document["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "code", "traceId"} <= set(problem["required"])
    not_found = document["components"]["responses"]["NOT_FOUND"]
    assert not_found["content"]["application/problem+json"]["schema"]["allOf"][1]["properties"]["code"] == {
        "const": "NOT_FOUND"
    }


def test_path_and_query_parameters(document: dict[str, Any]) -> None:
    get = document["paths"]["/v1/items/{item_id}"]["get"]
    parameters = {(p["in"], p["name"]): p for p in get["parameters"]}
    assert parameters[("path", "item_id")]["required"] is True
    assert parameters[("path", "item_id")]["schema"] == {"type": "string", "format": "uuid"}
    limit = parameters[("query", "limit")]
    assert limit["required"] is False and limit["schema"]["type"] == "integer" and limit["description"] == "Page size"
    assert parameters[("query", "cursor")]["required"] is False
    assert set(get["responses"]) == {"200", "400", "401", "404", "413"}  # VALIDATION_ERROR for the query model


def test_security_and_auth_problems(document: dict[str, Any]) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    admin = document["paths"]["/admin/stats"]["get"]
    assert admin["security"] == [{"bearerAuth": []}]
    assert admin["responses"]["401"] == {"$ref": "#/components/responses/UNAUTHORIZED"}
    assert admin["responses"]["403"] == {"$ref": "#/components/responses/FORBIDDEN"}
    assert "400" not in admin["responses"]  # no request or query model
    client = document["paths"]["/v1/orders"]["post"]
    assert client["security"] == [{"bearerAuth": []}] and "403" not in client["responses"]


def test_websocket_route(document: dict[str, Any]) -> None:
    item = document["paths"]["/v1/ws/ticks"]
    assert set(item) == {"get"}
    ws = item["get"]
    assert ws["x-websocket"] is True and ws["description"] == "A Tick every second."
    assert set(ws["responses"]) == {"101", "400", "401", "413", "426"}
    assert ws["responses"]["426"] == {"$ref": "#/components/responses/UPGRADE_REQUIRED"}
    assert [p["name"] for p in ws["parameters"]] == ["token"] and ws["security"] == [{"bearerAuth": []}]
    message = resolve(document, ws["x-websocket-messages"][0]["$ref"])
    assert message["properties"]["price"]["type"] == "string"


def test_undocumented_route_makes_the_build_fail() -> None:
    app = toy_app()

    @app.get("/bare")
    async def bare(request: Request) -> HTTPResponse:
        return json({})

    with pytest.raises(UndocumentedRoute, match="/bare"):
        build_openapi(app)


async def test_served_as_json_and_as_a_page(loopback: Any, http: Any) -> None:
    app = toy_app()
    server = await loopback(app)
    http.base_url = server.base_url

    response = await http.get("/openapi.json")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    assert response.json() == build_openapi(app)
    assert app.ctx.openapi_document is openapi_document(app)  # built once
    assert (await http.get("/openapi.json")).json() == response.json()

    page = await http.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = page.text
    assert "Place an order &lt;now&gt; &amp; pay" in text and "<now>" not in text
    assert "/v1/items/{item_id}" in text and "Desk statistics" in text and "MARKET_CLOSED" in text
    assert "admin (bearer JWT)" in text and "orderId" in text and "Tick" in text
    assert "<script" not in text.lower() and "http://" not in text and "https://" not in text


def test_the_real_app_is_documented(tmp_path: Path) -> None:
    app = create_app(make_config(f"sqlite://{tmp_path / 'otc.sqlite3'}"), unique_name=True)
    if "openapi" not in app.blueprints:
        app.blueprint(openapi.bp)
    document = build_openapi(app)
    validate(document)
    assert {"/health", "/health/ready", "/openapi.json", "/docs"} <= set(document["paths"])
    ready = document["paths"]["/health/ready"]["get"]
    assert ready["responses"]["503"] == {"$ref": "#/components/responses/NOT_READY"}
    answer = resolve(document, ready["responses"]["200"]["content"]["application/json"]["schema"]["$ref"])
    assert {"status", "database", "store", "spot"} <= set(answer["properties"])
    # The admin surface is documented too: a delete answers 204 with no body.
    assert {"/v1/admin/clients", "/v1/admin/closings/{closing_id}/advance", "/v1/ws/closings"} <= set(document["paths"])
    removed = document["paths"]["/v1/admin/holidays/{holiday_id}"]["delete"]["responses"]
    assert removed["204"] == {"description": "No Content"} and "200" not in removed
