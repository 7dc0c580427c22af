"""Where a closing may go from where it is (SPEC §9): the transition table, and nothing else.

::

    pending ──advance──▶ funded ──advance──▶ paid ──advance──▶ settled
       ▲                  │  ▲                │
       └──────revert──────┘  └─────revert─────┘
    pending | funded | paid ──cancel──▶ cancelled

``settled`` and ``cancelled`` are final: nothing leaves them. Reverting is one step back,
so only ``funded`` and ``paid`` revert. Send-to-desk is not a transition (it changes no
status) but is allowed from ``paid`` only; ``SENDABLE`` says so here, beside the table.
"""

from __future__ import annotations

from enum import StrEnum

from otc_framework.errors import IllegalTransition
from otc_framework.storage.models import ClosingStatus


class Action(StrEnum):
    ADVANCE = "advance"
    REVERT = "revert"
    CANCEL = "cancel"

    @property
    def audit_action(self) -> str:
        return f"closing.{self.value}"


_S = ClosingStatus
TRANSITIONS: dict[Action, dict[ClosingStatus, ClosingStatus]] = {
    Action.ADVANCE: {_S.PENDING: _S.FUNDED, _S.FUNDED: _S.PAID, _S.PAID: _S.SETTLED},
    Action.REVERT: {_S.FUNDED: _S.PENDING, _S.PAID: _S.FUNDED},
    Action.CANCEL: {_S.PENDING: _S.CANCELLED, _S.FUNDED: _S.CANCELLED, _S.PAID: _S.CANCELLED},
}

SENDABLE = _S.PAID

_ALLOWED_FROM = {
    Action.ADVANCE: "pending, funded or paid",
    Action.REVERT: "funded or paid (one step back)",
    Action.CANCEL: "any status but settled and cancelled",
}


def target(action: Action, current: ClosingStatus) -> ClosingStatus:
    """The status ``action`` moves a ``current`` closing to; ILLEGAL_TRANSITION when none."""
    to = TRANSITIONS[action].get(current)
    if to is None:
        raise IllegalTransition(
            f"cannot {action.value} a {current.value} closing: {action.value} applies to {_ALLOWED_FROM[action]}",
            action=action.value, **{"from": current.value},
        )
    return to


def check_sendable(current: ClosingStatus) -> None:
    """ILLEGAL_TRANSITION unless a closing in ``current`` may be sent to the desk."""
    if current != SENDABLE:
        raise IllegalTransition(
            f"cannot send a {current.value} closing to the desk: only paid closings are sent",
            action="send-to-desk", **{"from": current.value},
        )
