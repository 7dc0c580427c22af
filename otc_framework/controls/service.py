"""Listing and changing controls (SPEC §8), for the admin API and the CLI alike.

A change is checked by its definition (``ControlDefinition.parse``; names it ``refers_to``
must exist), written with its ``control.update`` audit row in one transaction, then made
visible: every worker reloads the controls on its next request, plugins hear of it
(``otc_control_changed``) and operators see it live (``control.changed``).

Decisions:

- Values leave here JSON-typed (``json_value``): bool as true/false, int as a number,
  decimal as a string ("0.50"), enum and string as a string, csv as one comma-separated
  string ("a,b"). Hooks and events carry these; the audit detail keeps the stored texts of
  both sides, exactly what ``system_controls.value`` held before and after.
- Every refusal of a value names the field ``value`` (the request body's), whatever the
  definition's parser calls it; an unknown control names ``key``.
- A write of the value already in force is still written, audited and announced: the
  operator acted, and the trail shows it.
- ``updatedBy``/``updatedAt`` are both null until someone changes the control: a row the
  seeding wrote (``updated_by`` null) carries the install time, which no operator chose.
- Names a definition ``refers_to`` must exist when written (``exec_enabled_clients``: client
  names, exact case, active or not: deactivating a client does not edit the controls).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise.transactions import in_transaction

from otc_framework.admin.access import Actor, Backoffice
from otc_framework.admin.feed import EventType
from otc_framework.announce import announce
from otc_framework.audit import record
from otc_framework.controls import repository
from otc_framework.controls.definition import ControlDefinition, ControlReference, ControlValue
from otc_framework.controls.values import Controls
from otc_framework.errors import ValidationFailed
from otc_framework.storage.models import Client

JsonValue = bool | int | str


@dataclass(frozen=True, slots=True)
class ControlState:
    """A control as operators see it: its definition, the value in force, who set it last."""

    definition: ControlDefinition
    value: ControlValue
    updated_by: str | None
    updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class ControlChange:
    before: ControlValue
    state: ControlState

    @property
    def key(self) -> str:
        return self.state.definition.key

    @property
    def after(self) -> ControlValue:
        return self.state.value


def json_value(value: ControlValue) -> JsonValue:
    """A control value as JSON carries it (see the module docstring)."""
    if isinstance(value, tuple):
        return ",".join(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


async def list_controls(office: Backoffice) -> list[ControlState]:
    """Every definition, core and plugin, ordered by key, with the value in force."""
    rows = await repository.load_rows()
    values = Controls(office.controls.values(), {key: row.value for key, row in rows.items()})
    return [_state(defn, values[key], rows.get(key)) for key, defn in sorted(office.controls.items())]


async def set_control(office: Backoffice, actor: Actor, key: str, raw: Any) -> ControlChange:
    """Validate ``raw`` (JSON-typed, or text from a shell) for control ``key`` and apply it."""
    defn = office.controls.get(key)
    if defn is None:
        raise ValidationFailed(f"key: unknown control {key!r}", field="key")
    try:
        value = defn.parse(raw)
    except ValidationFailed as exc:
        raise ValidationFailed(exc.detail, field="value") from None
    await _check_references(defn, value)
    text = defn.to_text(value)
    async with in_transaction() as conn:
        before_text, row = await repository.save(key, text, actor.name, conn)
        stored_before = defn.to_text(defn.default) if before_text is None else before_text
        await record("control.update", **actor.audit(), detail={"key": key, "before": stored_before, "after": text},
                     using_db=conn)
    # What was in force before: a stored text that no longer parses was priced as the default.
    before = Controls([defn], {key: stored_before})[key]
    await office.reference.changed("controls")
    old, new = json_value(before), json_value(value)
    announce(office.hooks.otc_control_changed, key=key, old=old, new=new, actor=actor.name)
    office.feed.emit(EventType.CONTROL_CHANGED, {"key": key, "before": old, "after": new, "actor": actor.name})
    return ControlChange(before, _state(defn, value, row))


def _state(defn: ControlDefinition, value: ControlValue, row: Any) -> ControlState:
    if row is None or row.updated_by is None:
        return ControlState(defn, value, None, None)
    return ControlState(defn, value, row.updated_by, row.updated_at)


async def _client_names(names: Sequence[str]) -> set[str]:
    return {str(name) for name in await Client.filter(name__in=list(names)).values_list("name", flat=True)}


_EXISTING: dict[ControlReference, Callable[[Sequence[str]], Awaitable[set[str]]]] = {
    ControlReference.CLIENTS: _client_names,
}


async def _check_references(defn: ControlDefinition, value: ControlValue) -> None:
    if defn.refers_to is None:
        return
    names = value if isinstance(value, tuple) else ((value,) if isinstance(value, str) and value else ())
    if not names:
        return
    found = await _EXISTING[defn.refers_to](names)
    missing = sorted({name for name in names if name not in found})
    if missing:
        raise ValidationFailed(f"{defn.key}: unknown {defn.refers_to}: {', '.join(missing)}", field="value",
                               unknown=missing)
