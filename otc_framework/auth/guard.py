"""Who is calling: the per-request check of SPEC §7.

A token is only as good as the client record behind it: the client must exist, be active,
still hold the key the token was minted for, and not have rotated it since (``iat``). The
record and the reference data arrive in one store round trip (``ReferenceCache.current``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address

from sanic import Request

from otc_framework.auth.client_cache import ClientRecord, client_key, client_record, last_text
from otc_framework.auth.tokens import Claims
from otc_framework.errors import ApiDisabled, Forbidden, ProblemError, Unauthorized
from otc_framework.reference import Reference
from otc_framework.storage.models import Role
from otc_framework.storage.store import Bucket, RateDecision

BEARER = "bearer "


@dataclass(frozen=True, slots=True)
class Caller:
    client: ClientRecord
    claims: Claims
    reference: Reference
    ip: str | None
    # Values of the extra store keys the route asked for, in order.
    extras: list[str | None]
    # The decision of the bucket the route asked to spend, when it asked for one.
    spent: RateDecision | None = None


def client_ip(request: Request) -> str | None:
    """The caller's address: the peer's, or, when the peer is a trusted proxy
    (``[server] trusted_proxies``), the last address of its X-Forwarded-For. Anyone else's
    X-Forwarded-For is ignored, so a client cannot name its own address in the audit trail."""
    peer = request.ip or None
    proxies = request.app.ctx.config.server.trusted_proxies
    if peer is None or not proxies or not _is_proxy(peer, proxies):
        return peer
    forwarded = request.headers.get("x-forwarded-for", "").rsplit(",", 1)[-1].strip()
    try:
        return str(ip_address(forwarded))
    except ValueError:
        return peer


@lru_cache(maxsize=1024)
def _is_proxy(peer: str, proxies: tuple[IPv4Network | IPv6Network, ...]) -> bool:
    try:
        address = ip_address(peer)
    except ValueError:
        return False
    return any(address in network for network in proxies)


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith(BEARER) or not header[len(BEARER):].strip():
        raise Unauthorized("missing bearer token")
    return header[len(BEARER):].strip()


ExtraKeys = Callable[[Claims], Sequence[str]]
Spends = Callable[[str], Bucket]


async def authenticate(
    request: Request, *, admin: bool = False, extra_keys: ExtraKeys | None = None, spends: Spends | None = None
) -> Caller:
    """Check the request's token; client routes also answer API_DISABLED when the API is off.

    ``extra_keys(claims)`` names store keys the route needs (its caller's OID key, say):
    they are read in the same round trip as the client record and the reference data.
    ``spends(client_id)`` names a bucket of the caller's that the route spends on every
    request: it is spent in that round trip too (``Caller.spent``); the route decides what a
    refusal means.
    """
    return await authenticate_token(request, bearer_token(request), admin=admin, extra_keys=extra_keys,
                                    spends=spends)


async def authenticate_token(
    request: Request, token: str, *, admin: bool = False, extra_keys: ExtraKeys | None = None,
    spends: Spends | None = None,
) -> Caller:
    runtime = request.app.ctx.runtime
    claims = runtime.tokens.decode(token)
    keys = [client_key(claims.client_id), *(extra_keys(claims) if extra_keys else ())]
    spent = None
    if spends is None:
        reference, values = await runtime.reference.current(keys)
    else:
        reference, values, spent = await runtime.reference.current_spending(keys, spends(claims.client_id))
    return await admitted(request, claims, reference, values, spent, admin=admin)


async def admitted(
    request: Request, claims: Claims, reference: Reference, values: list[str | None], spent: RateDecision | None,
    *, admin: bool = False,
) -> Caller:
    """The caller, once the store has answered: ``values`` are its client record's text and
    then the route's extra keys."""
    record = await client_record(request.app.ctx.runtime.store, claims.client_id, values[0])
    _admit(record, claims, reference, admin)
    assert record is not None
    return Caller(record, claims, reference, client_ip(request), values[1:], spent)


def last_view(request: Request, claims: Claims) -> tuple[Caller, list[tuple[str, str | None]]] | None:
    """The caller as this worker last saw it (its client record's text and the reference
    data), with what the store held for that view: the keys and values a route hands to
    ``Store.set_owned_if_current``, so what it priced from this view takes effect only if the
    view is still current when it does. ``None`` when this worker has no view of the caller,
    or the view refuses it (the store's current one then decides). Nothing here is trusted
    alone: the check that admits the caller is made again, atomically, by the store."""
    runtime = request.app.ctx.runtime
    known, text = runtime.reference.known(), last_text(claims.client_id)
    if known is None or text is None:
        return None
    reference, versions = known
    record = ClientRecord.from_json(text)
    try:
        _admit(record, claims, reference, admin=False)
    except ProblemError:
        return None
    caller = Caller(record, claims, reference, client_ip(request), [], None)
    return caller, [*versions, (client_key(claims.client_id), text)]


def _admit(record: ClientRecord | None, claims: Claims, reference: Reference, admin: bool) -> None:
    if not admin and not reference.controls.flag("api_enabled"):
        raise ApiDisabled("the client API is switched off")
    check_token(record, claims)
    assert record is not None
    if admin and record.role is not Role.ADMIN:
        raise Forbidden("admin role required")


def check_token(record: ClientRecord | None, claims: Claims) -> None:
    """Refuse a token whose client is gone, inactive, or has rotated its key since."""
    if record is None or not record.active:
        raise Unauthorized("client not active")
    if record.api_key_hash != claims.api_key_hash or claims.issued_at < record.key_rotated_at:
        raise Unauthorized("token revoked")
