"""What a route accepts and answers, declared once on its handler.

``@endpoint(...)`` records the pydantic models a handler validates its input with and shapes
its answers with, the problems it may answer and who may call it. The same models do the
work at run time (``web.bodies``), and ``web.openapi`` builds the API document from these
declarations by walking the app's routes, so the document cannot drift from the code.

Put ``@endpoint`` under the route decorator::

    @bp.post("/v1/sessions")
    @endpoint("Take a quote", request=CreateSession, responses={201: SessionCreated},
              errors=(MarketClosed, SpotUnavailable), auth="client")
    async def create_session(request): ...

``path`` gives a path parameter the schema of the values the handler accepts (``choices(Tier)``,
``UUID_PARAM``), or a function of the app returning it, for values a deployment decides (its
control keys); without one a parameter is any string. ``body_optional`` says the handler
takes an empty body as ``{}`` (``parse_body(..., optional=True)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

from otc_framework.errors import ProblemError

Auth = Literal["none", "client", "admin"]
ATTRIBUTE = "__otc_endpoint__"

Handler = TypeVar("Handler", bound=Callable[..., Any])
# A path parameter's JSON schema, or a function of the app (a ``Sanic``) that returns it.
PathSchema = dict[str, Any] | Callable[[Any], dict[str, Any]]

UUID_PARAM: dict[str, Any] = {"type": "string", "format": "uuid"}


def choices(values: type[StrEnum] | Iterable[str]) -> dict[str, Any]:
    """The schema of a string that is one of ``values`` (an enum's values, in its order)."""
    return {"type": "string", "enum": [str(value) for value in values]}


@dataclass(frozen=True, slots=True)
class EndpointDoc:
    summary: str
    auth: Auth
    request: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: Mapping[int, type[BaseModel]] = field(default_factory=dict)
    errors: tuple[type[ProblemError], ...] = ()
    description: str = ""
    tags: tuple[str, ...] = ()
    websocket: bool = False
    # Success is 204 No Content (a delete, say): nothing to declare in ``responses``.
    no_content: bool = False
    path: Mapping[str, PathSchema] = field(default_factory=dict)
    body_optional: bool = False


def endpoint(
    summary: str,
    *,
    auth: Auth,
    request: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: Mapping[int, type[BaseModel]] | None = None,
    errors: tuple[type[ProblemError], ...] = (),
    description: str = "",
    tags: tuple[str, ...] = (),
    websocket: bool = False,
    no_content: bool = False,
    path: Mapping[str, PathSchema] | None = None,
    body_optional: bool = False,
) -> Callable[[Handler], Handler]:
    doc = EndpointDoc(
        summary=summary,
        auth=auth,
        request=request,
        query=query,
        responses=dict(responses or {}),
        errors=errors,
        description=description,
        tags=tags,
        websocket=websocket,
        no_content=no_content,
        path=dict(path or {}),
        body_optional=body_optional,
    )

    def attach(handler: Handler) -> Handler:
        setattr(handler, ATTRIBUTE, doc)
        return handler

    return attach


def endpoint_doc(handler: Callable[..., Any]) -> EndpointDoc | None:
    return getattr(handler, ATTRIBUTE, None)
