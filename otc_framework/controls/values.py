"""The controls in force: every definition's current value, typed.

Built from the stored texts of ``system_controls``; a key never written reads as its default.
A stored text that no longer parses (a definition's bounds tightened after it was written)
reads as the default too, and is logged, so one bad row never stops quoting.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from decimal import Decimal

from otc_framework.controls.definition import ControlDefinition, ControlValue
from otc_framework.errors import ValidationFailed

log = logging.getLogger(__name__)


class Controls:
    def __init__(self, definitions: Iterable[ControlDefinition], stored: Mapping[str, str]) -> None:
        self.definitions = {d.key: d for d in definitions}
        self._values: dict[str, ControlValue] = {}
        for key, defn in self.definitions.items():
            text = stored.get(key)
            if text is None:
                self._values[key] = defn.default
                continue
            try:
                self._values[key] = defn.from_text(text)
            except ValidationFailed as exc:
                log.warning("stored control does not parse; using its default", extra={"key": key, "error": str(exc)})
                self._values[key] = defn.default

    def __getitem__(self, key: str) -> ControlValue:
        return self._values[key]

    def flag(self, key: str) -> bool:
        return bool(self._values[key])

    def integer(self, key: str) -> int:
        value = self._values[key]
        assert isinstance(value, int) and not isinstance(value, bool), key
        return value

    def decimal(self, key: str) -> Decimal:
        value = self._values[key]
        assert isinstance(value, Decimal), key
        return value

    def items(self) -> Iterable[tuple[str, ControlValue]]:
        return self._values.items()
