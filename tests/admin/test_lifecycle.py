"""The transition table: every (action, from) pair, and send-to-desk's one allowed status."""

from __future__ import annotations

import pytest

from otc_framework.admin.lifecycle import Action, check_sendable, target
from otc_framework.errors import IllegalTransition
from otc_framework.storage.models import ClosingStatus as S

EXPECTED: dict[tuple[Action, S], S | None] = {
    (Action.ADVANCE, S.PENDING): S.FUNDED,
    (Action.ADVANCE, S.FUNDED): S.PAID,
    (Action.ADVANCE, S.PAID): S.SETTLED,
    (Action.ADVANCE, S.SETTLED): None,
    (Action.ADVANCE, S.CANCELLED): None,
    (Action.REVERT, S.PENDING): None,
    (Action.REVERT, S.FUNDED): S.PENDING,
    (Action.REVERT, S.PAID): S.FUNDED,
    (Action.REVERT, S.SETTLED): None,
    (Action.REVERT, S.CANCELLED): None,
    (Action.CANCEL, S.PENDING): S.CANCELLED,
    (Action.CANCEL, S.FUNDED): S.CANCELLED,
    (Action.CANCEL, S.PAID): S.CANCELLED,
    (Action.CANCEL, S.SETTLED): None,
    (Action.CANCEL, S.CANCELLED): None,
}


def test_every_pair_is_covered() -> None:
    assert set(EXPECTED) == {(a, s) for a in Action for s in S}


@pytest.mark.parametrize(("action", "current"), list(EXPECTED))
def test_transition(action: Action, current: S) -> None:
    expected = EXPECTED[(action, current)]
    if expected is not None:
        assert target(action, current) is expected
        return
    with pytest.raises(IllegalTransition) as refused:
        target(action, current)
    assert f"cannot {action.value} a {current.value} closing" in str(refused.value.detail)
    assert refused.value.extra == {"action": action.value, "from": current.value}


def test_audit_actions() -> None:
    assert [a.audit_action for a in Action] == ["closing.advance", "closing.revert", "closing.cancel"]


@pytest.mark.parametrize("current", list(S))
def test_only_paid_is_sendable(current: S) -> None:
    if current is S.PAID:
        check_sendable(current)
        return
    with pytest.raises(IllegalTransition, match="only paid closings are sent"):
        check_sendable(current)
