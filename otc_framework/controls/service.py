"""Changing a control: validated by its definition, written with its audit row in one
transaction, then announced so every worker prices the next trade with it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from otc_framework.audit import record
from otc_framework.controls import repository
from otc_framework.controls.definition import ControlDefinition, ControlValue
from otc_framework.errors import ValidationFailed
from otc_framework.reference.cache import ReferenceCache
from otc_framework.storage.models import AuditSource


@dataclass(frozen=True, slots=True)
class ControlChange:
    key: str
    before: ControlValue
    after: ControlValue


async def set_control(
    definitions: dict[str, ControlDefinition],
    reference: ReferenceCache,
    key: str,
    raw: Any,
    *,
    actor: str,
    source: AuditSource,
    ip_address: str | None = None,
) -> ControlChange:
    defn = definitions.get(key)
    if defn is None:
        raise ValidationFailed(f"key: unknown control {key!r}", field="key")
    value = defn.parse(raw)
    text = defn.to_text(value)
    async with in_transaction() as conn:
        before_text = await repository.save(key, text, actor, conn)
        before = defn.default if before_text is None else defn.from_text(before_text)
        await record(
            "control.update",
            actor=actor,
            source=source,
            ip_address=ip_address,
            detail={"key": key, "before": defn.to_text(before), "after": text},
            using_db=conn,
        )
    await reference.changed("controls")
    return ControlChange(key, before, value)
