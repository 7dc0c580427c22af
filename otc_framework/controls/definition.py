"""What a control is: key, type, default, bounds; how its value is checked and stored.

Values are stored in ``system_controls.value`` as text (the canonical form below) so one
column serves every type; ``parse`` is the single gate every write goes through.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from otc_framework.errors import ValidationFailed
from otc_framework.web.limits import MAX_NUMBER_CHARS


class ControlReference(StrEnum):
    """What the names in a control's value must exist as (checked on write, against the database)."""

    CLIENTS = "clients"


class ControlKind(StrEnum):
    BOOL = "bool"
    INT = "int"
    DECIMAL = "decimal"
    ENUM = "enum"
    CSV = "csv"
    STRING = "string"


ControlValue = bool | int | Decimal | str | tuple[str, ...]
_INTEGER = re.compile(rf"-?[0-9]{{1,{MAX_NUMBER_CHARS}}}")


@dataclass(frozen=True, slots=True)
class ControlDefinition:
    key: str
    kind: ControlKind
    default: ControlValue
    description: str
    choices: tuple[str, ...] = ()
    minimum: Decimal | None = None
    maximum: Decimal | None = None
    owner: str = "core"
    # Each name in the value (a CSV's items, a string when not empty) must name one of these.
    refers_to: ControlReference | None = None

    def parse(self, raw: Any) -> ControlValue:
        """Check a JSON-typed value (bool, int, decimal string, string) and return it typed.

        Floats are refused for decimals: a float has already lost the exact value.
        """
        value = _PARSERS[self.kind](self, raw)
        if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
            if self.minimum is not None and value < self.minimum:
                raise ValidationFailed(f"{self.key}: must be at least {self.minimum}", field=self.key)
            if self.maximum is not None and value > self.maximum:
                raise ValidationFailed(f"{self.key}: must be at most {self.maximum}", field=self.key)
        return value

    def to_text(self, value: ControlValue) -> str:
        """Canonical stored form of an already parsed value."""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, tuple):
            return ",".join(value)
        return str(value)

    def from_text(self, text: str) -> ControlValue:
        """Read a stored value back; stored values were written through ``parse``."""
        if self.kind is ControlKind.BOOL:
            return text == "true"
        return self.parse(text)


def _parse_bool(defn: ControlDefinition, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.lower() in {"true", "false", "on", "off"}:
        return raw.lower() in {"true", "on"}
    raise ValidationFailed(f"{defn.key}: expected a boolean", field=defn.key)


def _parse_int(defn: ControlDefinition, raw: Any) -> int:
    if isinstance(raw, bool):
        raise ValidationFailed(f"{defn.key}: expected an integer", field=defn.key)
    if isinstance(raw, int):
        return raw
    # ASCII digits, bounded: ``isdigit`` also takes "²", which ``int`` refuses.
    if isinstance(raw, str) and _INTEGER.fullmatch(raw.strip()):
        return int(raw.strip())
    raise ValidationFailed(f"{defn.key}: expected an integer", field=defn.key)


def _parse_decimal(defn: ControlDefinition, raw: Any) -> Decimal:
    if isinstance(raw, bool) or not isinstance(raw, (int, str, Decimal)):
        raise ValidationFailed(f"{defn.key}: expected a decimal string", field=defn.key)
    text = str(raw).strip()
    # Bounded before it becomes a Decimal (web.limits): "1e999999" would overflow what it meets.
    if len(text) > MAX_NUMBER_CHARS:
        raise ValidationFailed(f"{defn.key}: at most {MAX_NUMBER_CHARS} characters", field=defn.key)
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ValidationFailed(f"{defn.key}: expected a decimal string", field=defn.key) from None
    if not value.is_finite():
        raise ValidationFailed(f"{defn.key}: expected a finite decimal", field=defn.key)
    if value and value.adjusted() >= MAX_NUMBER_CHARS:
        raise ValidationFailed(f"{defn.key}: must be below 1e{MAX_NUMBER_CHARS}", field=defn.key)
    return value


def _parse_enum(defn: ControlDefinition, raw: Any) -> str:
    if isinstance(raw, str) and raw in defn.choices:
        return raw
    raise ValidationFailed(f"{defn.key}: expected one of {', '.join(defn.choices)}", field=defn.key)


def _parse_csv(defn: ControlDefinition, raw: Any) -> tuple[str, ...]:
    if isinstance(raw, (list, tuple)) and all(isinstance(item, str) for item in raw):
        items = raw
    elif isinstance(raw, str):
        items = raw.split(",")
    else:
        raise ValidationFailed(f"{defn.key}: expected a comma-separated list", field=defn.key)
    return tuple(item.strip() for item in items if item.strip())


def _parse_string(defn: ControlDefinition, raw: Any) -> str:
    if isinstance(raw, str):
        return raw.strip()
    raise ValidationFailed(f"{defn.key}: expected a string", field=defn.key)


_PARSERS: dict[ControlKind, Callable[[ControlDefinition, Any], ControlValue]] = {
    ControlKind.BOOL: _parse_bool,
    ControlKind.INT: _parse_int,
    ControlKind.DECIMAL: _parse_decimal,
    ControlKind.ENUM: _parse_enum,
    ControlKind.CSV: _parse_csv,
    ControlKind.STRING: _parse_string,
}
