"""The API document (OpenAPI 3.1) at ``GET /openapi.json`` and a page for people at ``GET /docs``.

Both are generated from the ``@endpoint`` declarations on the app's routes (``web.endpoint``)
and from the very pydantic models that validate requests and shape answers, so the document
cannot drift from the code. A route without a declaration makes ``build_openapi`` raise: an
undocumented route is a bug to fix, not a gap to tolerate.

Conventions read from the declarations:

- request and query models are described as validated (``Decimal`` accepts a number or a
  string), answer models as serialized (``Decimal`` is a string);
- ``auth="client"`` adds UNAUTHORIZED, ``auth="admin"`` UNAUTHORIZED and FORBIDDEN, a
  request or query model adds VALIDATION_ERROR, and every operation PAYLOAD_TOO_LARGE (the
  sizes of ``web.limits``), since the shared machinery answers those;
- a query parameter is never null: an optional one is left out, so its schema drops the
  ``null`` pydantic gives an optional field;
- a websocket route is a ``get`` answering ``101`` with ``x-websocket: true``, taking its
  token as ``?token=`` too, answering UPGRADE_REQUIRED to a request without the upgrade
  (``web.sockets``) and VALIDATION_ERROR to a broken handshake; its ``responses`` models, if
  any, describe its messages (``x-websocket-messages``);
- an answer model may set ``openapi_media_type: ClassVar[str]`` when it is not JSON.

The page is rendered on the server, with no script and no CDN, because the desk may be offline.
"""

from __future__ import annotations

import html
import json
import re
from collections import defaultdict
from collections.abc import Iterator
from functools import partial
from http import HTTPStatus
from importlib import metadata
from typing import Any, ClassVar, cast

from pydantic import BaseModel, RootModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from sanic import Blueprint, Request, Sanic
from sanic.response import HTTPResponse

import otc_framework
from otc_framework import errors
from otc_framework.web import limits
from otc_framework.web.bodies import RequestSchema
from otc_framework.web.endpoint import EndpointDoc, endpoint, endpoint_doc
from otc_framework.web.problems import CONTENT_TYPE as PROBLEM_CONTENT_TYPE
from otc_framework.web.problems import TYPE_PREFIX

__all__ = ["UndocumentedRoute", "bp", "build_openapi", "openapi_document", "render_page"]

SCHEMA_REF = "#/components/schemas/{model}"
RESPONSE_REF = "#/components/responses/{code}"
SECURITY_SCHEME = "bearerAuth"
METHOD_ORDER = ("get", "post", "put", "patch", "delete")
SKIPPED_METHODS = frozenset({"HEAD", "OPTIONS"})
PATH_PARAM = re.compile(r"<([^:>]+)(?::([^>]*))?>")
PARAM_SCHEMAS: dict[str, dict[str, str]] = {
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "uuid": {"type": "string", "format": "uuid"},
    "ymd": {"type": "string", "format": "date"},
}
AUTH_ERRORS: dict[str, tuple[type[errors.ProblemError], ...]] = {
    "none": (),
    "client": (errors.Unauthorized,),
    "admin": (errors.Unauthorized, errors.Forbidden),
}
PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 7807 answer of every error (SPEC §11); extension members may follow.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "description": f"{TYPE_PREFIX}<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string", "description": "Present when there is more to say than the title"},
        "traceId": {"type": "string", "description": "Also in the X-Trace-Id header and the log line"},
    },
    "required": ["type", "title", "status", "code", "traceId"],
    "additionalProperties": True,
}


class UndocumentedRoute(RuntimeError):
    """A route has no ``@endpoint`` declaration, so the document would be incomplete."""


def _package_version() -> str:
    version = getattr(otc_framework, "__version__", None)
    return version if isinstance(version, str) else metadata.version("otc-framework")


def _declaration(handler: Any) -> EndpointDoc | None:
    """The handler's declaration, looking through Sanic's websocket ``partial`` and wrappers."""
    for _ in range(8):
        doc = endpoint_doc(handler)
        if doc is not None:
            return doc
        if isinstance(handler, partial):
            handler = handler.args[0] if handler.args and callable(handler.args[0]) else handler.func
        else:
            handler = getattr(handler, "__wrapped__", None)
            if handler is None:
                return None
    return None


def _is_websocket(route: Any, doc: EndpointDoc) -> bool:
    return doc.websocket or bool(getattr(route.extra, "websocket", False))


def _path_schema(app: Sanic, doc: EndpointDoc, name: str, label: str) -> dict[str, Any]:
    declared = doc.path.get(name)
    if declared is None:
        return dict(PARAM_SCHEMAS.get(label, {"type": "string"}))
    return dict(declared(app) if callable(declared) else declared)


class _Operation:
    __slots__ = ("doc", "method", "operation_id", "path", "path_params", "tags", "websocket")

    def __init__(
        self, app: Sanic, route: Any, method: str, operation_id: str, doc: EndpointDoc, tags: list[str]
    ) -> None:
        self.doc = doc
        self.method = method
        self.operation_id = operation_id
        self.tags = tags
        self.websocket = _is_websocket(route, doc)
        uri = route.uri if route.uri.startswith("/") else f"/{route.uri}"
        self.path = PATH_PARAM.sub(lambda match: "{" + match.group(1) + "}", uri)
        # Read from the URI, not ``route.params``, which Sanic fills only when the router is finalized.
        self.path_params = [
            {"name": name, "in": "path", "required": True, "schema": _path_schema(app, doc, name, label)}
            for name, label in PATH_PARAM.findall(uri)
        ]


def _operations(app: Sanic) -> list[_Operation]:
    operations: list[_Operation] = []
    seen: set[str] = set()
    for route in sorted(app.router.routes, key=lambda route: (route.uri, route.name)):
        doc = _declaration(route.handler)
        if doc is None:
            raise UndocumentedRoute(f"route {route.uri} ({route.name}) has no @endpoint declaration")
        name = route.name.removeprefix(f"{app.name}.")
        tags = list(doc.tags) or ([name.rsplit(".", 1)[0]] if "." in name else [])
        methods = ["get"] if _is_websocket(route, doc) else sorted(
            (method.lower() for method in route.methods if method not in SKIPPED_METHODS),
            key=lambda method: (METHOD_ORDER.index(method) if method in METHOD_ORDER else len(METHOD_ORDER), method),
        )
        for method in methods:
            operation_id = name if len(methods) == 1 else f"{name}.{method}"
            while operation_id in seen:
                operation_id += f".{method}"
            seen.add(operation_id)
            operations.append(_Operation(app, route, method, operation_id, doc, tags))
    return operations


def _model_schemas(
    operations: list[_Operation],
) -> tuple[dict[tuple[type[BaseModel], JsonSchemaMode], dict[str, Any]], dict[str, Any]]:
    wanted: dict[tuple[type[BaseModel], JsonSchemaMode], None] = {}
    for operation in operations:
        for model in (operation.doc.request, operation.doc.query):
            if model is not None:
                wanted[(model, "validation")] = None
        for model in operation.doc.responses.values():
            wanted[(model, "serialization")] = None
    if not wanted:
        return {}, {}
    refs, definitions = models_json_schema(list(wanted), ref_template=SCHEMA_REF, schema_generator=RequestSchema)
    # The keys are the models passed in (never pydantic dataclasses), as ``wanted`` types them.
    return cast(dict[tuple[type[BaseModel], JsonSchemaMode], dict[str, Any]], refs), dict(definitions.get("$defs", {}))


def _problem_schema(problems: list[type[errors.ProblemError]]) -> dict[str, Any]:
    codes = [problem.code for problem in problems]
    code = {"const": codes[0]} if len(codes) == 1 else {"enum": codes}
    return {"allOf": [{"$ref": SCHEMA_REF.format(model="Problem")}, {"properties": {"code": code}}]}


def _problem_response(problems: list[type[errors.ProblemError]]) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": "; ".join(f"{problem.code}: {problem.title}" for problem in problems),
        "content": {PROBLEM_CONTENT_TYPE: {"schema": _problem_schema(problems)}},
        "x-problem-codes": [problem.code for problem in problems],
    }
    if any(issubclass(problem, errors.RateLimited) for problem in problems):
        response["headers"] = {
            "Retry-After": {"description": "Seconds to wait before trying again", "schema": {"type": "integer"}}
        }
    return response


def _problems_of(op: _Operation) -> list[type[errors.ProblemError]]:
    doc = op.doc
    declared: list[type[errors.ProblemError]] = [*AUTH_ERRORS[doc.auth], errors.PayloadTooLarge]
    if doc.request is not None or doc.query is not None:
        declared.append(errors.ValidationFailed)
    if op.websocket:  # a request without the upgrade, or with a broken one
        declared.extend((errors.UpgradeRequired, errors.ValidationFailed))
    declared.extend(doc.errors)
    unique = {problem.code: problem for problem in declared}
    return sorted(unique.values(), key=lambda problem: (problem.status, problem.code))


def _query_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """An optional field's schema without its ``null`` and ``null`` default (see the module docstring)."""
    schema = {key: value for key, value in schema.items() if not (key == "default" and value is None)}
    branches = [branch for branch in schema.get("anyOf", ()) if branch != {"type": "null"}]
    if "anyOf" in schema and len(branches) == 1:
        schema.pop("anyOf")
        schema = {**branches[0], **schema}
    elif "anyOf" in schema:
        schema["anyOf"] = branches
    return schema


TOKEN_PARAM: dict[str, Any] = {
    "name": "token", "in": "query", "required": False, "schema": {"type": "string"},
    "description": 'The JWT, when not sent as a bearer header or as the first message {"token": ...}',
}


def _operation(op: _Operation, refs: dict[Any, dict[str, Any]], schemas: dict[str, Any]) -> dict[str, Any]:
    doc = op.doc
    operation: dict[str, Any] = {"operationId": op.operation_id, "summary": doc.summary, "x-auth": doc.auth}
    if doc.description:
        operation["description"] = doc.description
    if op.tags:
        operation["tags"] = op.tags
    parameters = list(op.path_params)
    if doc.query is not None:
        query = schemas[refs[(doc.query, "validation")]["$ref"].rsplit("/", 1)[-1]]
        required = set(query.get("required", ()))
        for name, schema in query.get("properties", {}).items():
            parameter = {"name": name, "in": "query", "required": name in required, "schema": _query_schema(schema)}
            if "description" in schema:
                parameter["description"] = schema["description"]
            parameters.append(parameter)
    if op.websocket and doc.auth != "none":
        parameters.append(TOKEN_PARAM)
    if parameters:
        operation["parameters"] = parameters
    if doc.request is not None:
        operation["requestBody"] = {
            "required": not doc.body_optional,
            "content": {"application/json": {"schema": refs[(doc.request, "validation")]}},
        }
    responses: dict[str, Any] = {}
    if op.websocket:
        operation["x-websocket"] = True
        responses["101"] = {"description": "Switching Protocols: the connection becomes a WebSocket"}
        if doc.responses:
            operation["x-websocket-messages"] = [refs[(model, "serialization")] for model in doc.responses.values()]
    else:
        for status, model in sorted(doc.responses.items()):
            media_type = getattr(model, "openapi_media_type", "application/json")
            responses[str(status)] = {
                "description": HTTPStatus(status).phrase,
                "content": {media_type: {"schema": refs[(model, "serialization")]}},
            }
        if doc.no_content:
            responses["204"] = {"description": HTTPStatus.NO_CONTENT.phrase}
        if not responses:
            responses["200"] = {"description": "OK (no body declared)"}
    by_status: dict[int, list[type[errors.ProblemError]]] = defaultdict(list)
    for problem in _problems_of(op):
        by_status[problem.status].append(problem)
    for status, problems in by_status.items():
        if len(problems) == 1:
            responses[str(status)] = {"$ref": RESPONSE_REF.format(code=problems[0].code)}
        else:
            responses[str(status)] = _problem_response(problems)
    operation["responses"] = responses
    if doc.auth != "none":
        operation["security"] = [{SECURITY_SCHEME: []}]
    return operation


def build_openapi(app: Sanic) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route of ``app``; raises ``UndocumentedRoute`` when a
    route has no ``@endpoint`` declaration."""
    operations = _operations(app)
    refs, schemas = _model_schemas(operations)
    if "Problem" in schemas:
        raise ValueError("a model named Problem clashes with the problem schema; rename it")
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method] = _operation(op, refs, schemas)
    problems = {problem.code: problem for op in operations for problem in _problems_of(op)}
    tags = sorted({tag for op in operations for tag in op.tags})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "otc-framework",
            "version": _package_version(),
            "description": "OTC stablecoin desk API. Errors answer RFC 7807 `application/problem+json` "
            "bodies (`Problem`); decimals in answers are strings. " + limits.describe(),
        },
        "tags": [{"name": tag} for tag in tags],
        "paths": paths,
        "components": {
            "schemas": {**schemas, "Problem": PROBLEM_SCHEMA},
            "responses": {code: _problem_response([problems[code]]) for code in sorted(problems)},
            "securitySchemes": {SECURITY_SCHEME: {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def openapi_document(app: Sanic) -> dict[str, Any]:
    """``build_openapi(app)``, built once: routes do not change once the app serves."""
    document = getattr(app.ctx, "openapi_document", None)
    if document is None:
        document = app.ctx.openapi_document = build_openapi(app)
    return document


# ---- the page -------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,sans-serif;max-width:72rem;margin:2rem auto;padding:0 1rem;color:#222}
section{border-top:1px solid #ddd;padding:.5rem 0 1rem}
code{font-family:ui-monospace,monospace}
table{border-collapse:collapse;margin:.25rem 0 .75rem}
th,td{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
.method{display:inline-block;min-width:4.5rem;font-weight:bold;text-transform:uppercase}
.muted{color:#666}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _schema_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _schema_link(ref: str) -> str:
    name = _schema_name(ref)
    return f'<a href="#schema-{_e(name)}">{_e(name)}</a>'


def _type_html(schema: Any) -> str:
    """A short, readable type of a JSON schema (escaped HTML, component names linked)."""
    if not isinstance(schema, dict):
        return "any"
    if "$ref" in schema:
        return _schema_link(schema["$ref"])
    if "const" in schema:
        return _e(json.dumps(schema["const"]))
    if "enum" in schema:
        return " | ".join(_e(json.dumps(value)) for value in schema["enum"])
    for key, joiner in (("anyOf", " | "), ("oneOf", " | "), ("allOf", " &amp; ")):
        if key in schema:
            return joiner.join(_type_html(part) for part in schema[key])
    kind = schema.get("type")
    if isinstance(kind, list):
        return " | ".join(_e(part) for part in kind)
    if kind == "array":
        return f"array of {_type_html(schema.get('items'))}"
    if kind == "object" and isinstance(schema.get("additionalProperties"), dict):
        return f"map of {_type_html(schema['additionalProperties'])}"
    if kind:
        return _e(kind) + (f" ({_e(schema['format'])})" if "format" in schema else "")
    return "any"


def _fields_html(schema: dict[str, Any]) -> str:
    properties = schema.get("properties")
    if not properties:
        return f"<p>{_type_html(schema)}</p>"
    required = set(schema.get("required", ()))
    rows = "".join(
        f"<tr><td><code>{_e(name)}</code></td><td>{_type_html(field)}</td>"
        f"<td>{'yes' if name in required else 'no'}</td><td>{_e(field.get('description', ''))}</td></tr>"
        for name, field in properties.items()
    )
    return f"<table><tr><th>Field</th><th>Type</th><th>Required</th><th>Description</th></tr>{rows}</table>"


def _body_html(body: dict[str, Any], schemas: dict[str, Any]) -> str:
    parts = []
    for media_type, content in body.get("content", {}).items():
        schema = content.get("schema", {})
        parts.append(f"<p><code>{_e(media_type)}</code> {_type_html(schema)}</p>")
        if "$ref" in schema:
            parts.append(_fields_html(schemas.get(_schema_name(schema["$ref"]), {})))
    return "".join(parts)


def _operation_html(document: dict[str, Any], method: str, path: str, op: dict[str, Any]) -> str:
    components = document["components"]
    auth = op.get("x-auth", "none")
    parts = [
        f'<section id="op-{_e(op["operationId"])}">',
        f'<h2><span class="method">{_e("WS" if op.get("x-websocket") else method.upper())}</span> <code>{_e(path)}</code></h2>',
        f"<p><strong>{_e(op.get('summary', ''))}</strong></p>",
    ]
    if op.get("description"):
        parts.append(f"<p>{_e(op['description'])}</p>")
    auth_text = "none" if auth == "none" else f"{auth} (bearer JWT)"
    parts.append(f'<p class="muted">Auth: {_e(auth_text)} · operationId <code>{_e(op["operationId"])}</code></p>')
    if op.get("parameters"):
        parameter_rows = "".join(
            f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td><td>{_type_html(p.get('schema'))}</td>"
            f"<td>{'yes' if p.get('required') else 'no'}</td></tr>"
            for p in op["parameters"]
        )
        parts.append(f"<h3>Parameters</h3><table><tr><th>Name</th><th>In</th><th>Type</th><th>Required</th></tr>{parameter_rows}</table>")
    if "requestBody" in op:
        parts.append(f"<h3>Request body</h3>{_body_html(op['requestBody'], components['schemas'])}")
    if op.get("x-websocket-messages"):
        parts.append("<h3>Messages</h3>" + "".join(
            f"<p>{_type_html(ref)}</p>{_fields_html(components['schemas'].get(_schema_name(ref['$ref']), {}))}"
            for ref in op["x-websocket-messages"]
        ))
    rows = []
    for status, response in op["responses"].items():
        if "$ref" in response:
            response = components["responses"][_schema_name(response["$ref"])]
        codes = ", ".join(response.get("x-problem-codes", ()))
        body = "" if codes else _body_html(response, components["schemas"])
        detail = f"problem+json: <code>{_e(codes)}</code>" if codes else body
        rows.append(f"<tr><td>{_e(status)}</td><td>{_e(response.get('description', ''))}</td><td>{detail}</td></tr>")
    parts.append(f"<h3>Responses</h3><table><tr><th>Status</th><th>Description</th><th>Body</th></tr>{''.join(rows)}</table>")
    parts.append("</section>")
    return "".join(parts)


def _operations_of(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, op in item.items():
            yield method, path, op


def render_page(document: dict[str, Any]) -> str:
    """A self-contained HTML reference of ``document``; every value is escaped."""
    info = document["info"]
    title = f"{info['title']} {info['version']}"
    parts = [
        '<!doctype html><html lang="en"><head><meta charset="utf-8">',
        f"<title>{_e(title)} API</title><style>{CSS}</style></head><body>",
        f"<h1>{_e(title)} API</h1><p>{_e(info.get('description', ''))}</p>",
        '<p>Machine-readable: <a href="openapi.json">openapi.json</a> (OpenAPI 3.1)</p>',
        "<h2>Operations</h2><ul>",
    ]
    for method, path, op in _operations_of(document):
        label = "WS" if op.get("x-websocket") else method.upper()
        parts.append(f'<li><a href="#op-{_e(op["operationId"])}">{_e(label)} {_e(path)}</a> {_e(op.get("summary", ""))}</li>')
    parts.append("</ul>")
    parts.extend(_operation_html(document, method, path, op) for method, path, op in _operations_of(document))
    rows = "".join(
        f"<tr><td><code>{_e(code)}</code></td><td>{_e(response.get('description', ''))}</td></tr>"
        for code, response in document["components"]["responses"].items()
    )
    parts.append(f"<h2>Problems</h2><p>Bodies are <code>Problem</code> objects.</p><table>{rows}</table>")
    parts.append("<h2>Schemas</h2>")
    for name, schema in document["components"]["schemas"].items():
        description = f"<p>{_e(schema['description'])}</p>" if schema.get("description") else ""
        parts.append(f'<section id="schema-{_e(name)}"><h3>{_e(name)}</h3>{description}{_fields_html(schema)}</section>')
    parts.append("</body></html>")
    return "".join(parts)


# ---- the routes -----------------------------------------------------------------------------


class OpenApiDocument(RootModel[dict[str, Any]]):
    """The OpenAPI 3.1 document of this deployment's API (this very document)."""


class DocsPage(RootModel[str]):
    """The API reference as a self-contained HTML page."""

    openapi_media_type: ClassVar[str] = "text/html"


bp = Blueprint("openapi")


@bp.get("/openapi.json")
@endpoint("The API document (OpenAPI 3.1)", auth="none", responses={200: OpenApiDocument}, tags=("docs",))
async def openapi_json(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    body = getattr(ctx, "openapi_json", None)
    if body is None:
        body = ctx.openapi_json = json.dumps(openapi_document(request.app), ensure_ascii=False)
    return HTTPResponse(body, content_type="application/json")


@bp.get("/docs")
@endpoint("The API reference, as a page", auth="none", responses={200: DocsPage}, tags=("docs",))
async def docs_page(request: Request) -> HTTPResponse:
    ctx = request.app.ctx
    page = getattr(ctx, "openapi_page", None)
    if page is None:
        page = ctx.openapi_page = render_page(openapi_document(request.app))
    return HTTPResponse(page, content_type="text/html; charset=utf-8")
