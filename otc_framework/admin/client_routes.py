"""Clients (SPEC §9): list, create (raw key shown once), read, change, deactivate, activate,
rotate the key. The work is in ``admin.clients``; the CLI calls the same functions."""

from __future__ import annotations

from sanic import Blueprint, Request
from sanic.response import HTTPResponse

from otc_framework.admin.access import admin_caller, backoffice, by_admin
from otc_framework.admin.client_schemas import (
    ClientPage,
    ClientPatch,
    ClientQuery,
    ClientView,
    IssuedClient,
    NewClient,
    RotateKey,
)
from otc_framework.admin.clients import (
    ClientWithKey,
    create_client,
    get_client,
    list_clients,
    refuse_self_lockout,
    rotate_client_key,
    set_client_active,
    update_client,
)
from otc_framework.errors import NotFound
from otc_framework.web.bodies import answer, parse_body, parse_query
from otc_framework.web.endpoint import UUID_PARAM, endpoint

bp = Blueprint("admin_clients")

ADMIN = ("admin",)
ONE = {"client_id": UUID_PARAM}
_SELF = "FORBIDDEN also when an admin would lock itself out (deactivate itself, drop its own admin role)."


def _issued(made: ClientWithKey) -> IssuedClient:
    return IssuedClient.issued(made.client, made.api_key)


@bp.get("/v1/admin/clients")
@endpoint("Clients, newest first", auth="admin", query=ClientQuery, responses={200: ClientPage}, tags=ADMIN)
async def list_all(request: Request) -> HTTPResponse:
    await admin_caller(request)
    query = parse_query(request, ClientQuery)
    rows, cursor = await list_clients(query.active, query.search, query.limit, query.cursor)
    return answer(ClientPage(items=[ClientView.of(row) for row in rows], next_cursor=cursor))


@bp.post("/v1/admin/clients")
@endpoint("Create a client", auth="admin", request=NewClient, responses={201: IssuedClient}, tags=ADMIN,
          description="`apiKey` in the answer is the raw key, shown this once; only its hash is kept.")
async def create(request: Request) -> HTTPResponse:
    caller = await admin_caller(request)
    body = parse_body(request, NewClient)
    made = await create_client(
        by_admin(caller), body.name, body.tier, role=body.role, group_id=body.group_id,
        counterparty_id=body.counterparty_id, bot_participants=body.bot_participants, api_key=body.api_key,
        office=backoffice(request),
    )
    return answer(_issued(made), 201)


@bp.get("/v1/admin/clients/<client_id:str>")
@endpoint("One client", auth="admin", responses={200: ClientView}, errors=(NotFound,), tags=ADMIN, path=ONE)
async def get_one(request: Request, client_id: str) -> HTTPResponse:
    await admin_caller(request)
    return answer(ClientView.of(await get_client(client_id)))


@bp.patch("/v1/admin/clients/<client_id:str>")
@endpoint("Change a client", auth="admin", request=ClientPatch, responses={200: ClientView}, errors=(NotFound,),
          tags=ADMIN, description="A new tier prices the client's next quote. " + _SELF, path=ONE)
async def patch(request: Request, client_id: str) -> HTTPResponse:
    caller = await admin_caller(request)
    changes = parse_body(request, ClientPatch).model_dump(exclude_unset=True)
    refuse_self_lockout(caller.client.id, client_id, role=changes.get("role"))
    return answer(ClientView.of(await update_client(backoffice(request), by_admin(caller), client_id, changes)))


@bp.post("/v1/admin/clients/<client_id:str>/deactivate")
@endpoint("Deactivate a client", auth="admin", responses={200: ClientView}, errors=(NotFound,), tags=ADMIN,
          description="Its live tokens are refused at once. " + _SELF, path=ONE)
async def deactivate(request: Request, client_id: str) -> HTTPResponse:
    caller = await admin_caller(request)
    refuse_self_lockout(caller.client.id, client_id, active=False)
    client = await set_client_active(backoffice(request), by_admin(caller), client_id, False)
    return answer(ClientView.of(client))


@bp.post("/v1/admin/clients/<client_id:str>/activate")
@endpoint("Activate a client", auth="admin", responses={200: ClientView}, errors=(NotFound,), tags=ADMIN, path=ONE)
async def activate(request: Request, client_id: str) -> HTTPResponse:
    caller = await admin_caller(request)
    client = await set_client_active(backoffice(request), by_admin(caller), client_id, True)
    return answer(ClientView.of(client))


@bp.post("/v1/admin/clients/<client_id:str>/rotate-key")
@endpoint("Rotate a client's API key", auth="admin", request=RotateKey, responses={200: IssuedClient},
          errors=(NotFound,), tags=ADMIN, path=ONE, body_optional=True,
          description="The old key stops logging in and its tokens are refused at once; `apiKey` is shown this once. "
                      "Without a body (or with `{}`) the new key is generated.")
async def rotate_key(request: Request, client_id: str) -> HTTPResponse:
    caller = await admin_caller(request)
    body = parse_body(request, RotateKey, optional=True)
    made = await rotate_client_key(backoffice(request), by_admin(caller), client_id, body.api_key)
    return answer(_issued(made))
