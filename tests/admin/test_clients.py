"""Client service rules that need no database."""

from __future__ import annotations

import pytest

from otc_framework.admin.access import Actor
from otc_framework.admin.clients import refuse_self_lockout, update_client
from otc_framework.errors import Forbidden, ValidationFailed
from otc_framework.storage.models import AuditSource, Role

ADMIN_ID = "6f1c2b0e-1f4a-4c55-9a59-0c3a1b2c3d4e"


def test_an_admin_cannot_lock_itself_out() -> None:
    for same in (ADMIN_ID, ADMIN_ID.upper()):
        with pytest.raises(Forbidden):
            refuse_self_lockout(ADMIN_ID, same, active=False)
        with pytest.raises(Forbidden):
            refuse_self_lockout(ADMIN_ID, same, role=Role.CLIENT)
    refuse_self_lockout(ADMIN_ID, ADMIN_ID, active=True, role=Role.ADMIN)
    refuse_self_lockout(ADMIN_ID, "00000000-0000-0000-0000-000000000000", active=False, role=Role.CLIENT)
    refuse_self_lockout(ADMIN_ID, "not-a-uuid", active=False)  # answered NOT_FOUND by the service


@pytest.mark.parametrize(("changes", "field"), [({}, "body"), ({"active": False}, "active"),
                                                ({"api_key_hash": "0" * 64}, "api_key_hash")])
async def test_a_change_must_name_fields_one_may_change(changes: dict, field: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        await update_client(None, Actor("cli", AuditSource.SYSTEM), ADMIN_ID, changes)  # type: ignore[arg-type]
    assert refused.value.extra["field"] == field
