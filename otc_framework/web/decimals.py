"""Decimals a request may carry: a JSON number or a plain decimal string, within a range the
API document states exactly.

``Annotated[Decimal, DecimalInput(places=4, digits=1)]`` is a ``Decimal`` from 0 to 10
(``10**digits``) with at most 4 decimal places; ``positive=True`` leaves 0 out. It accepts
what its schema describes and nothing else, so a client (or a fuzzer) reading the document
never sees a well-formed value refused:

- a JSON number (read exactly by ``web.bodies``, never through a float) in the range, with
  at most ``places`` decimal places once trailing zeros are dropped;
- a string of at most ``MAX_NUMBER_CHARS`` matching the pattern: plain digits, no sign, no
  exponent, no leading zeros, the same range and places (``"0.35"``, ``"10"``, ``"0.350000"``;
  not ``"1e1"``, ``".5"``, ``"05"``).

A string is matched before it becomes a ``Decimal``, and a JSON number was bounded on its
text by the parser (``web.limits``), so no input makes a ``Decimal`` an operation could
overflow.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from annotated_types import GroupedMetadata
from pydantic import PlainValidator, WithJsonSchema

from otc_framework.web.limits import MAX_NUMBER_CHARS


def _pattern(places: int, digits: int, positive: bool) -> str:
    """The strings of the values in (0 or [0) .. 10**digits] with at most ``places`` places
    (trailing zeros after them allowed)."""
    fraction = rf"(?:\.[0-9]{{1,{places}}}0*)?"
    ceiling = "1" + "0" * digits + r"(?:\.0+)?"
    below = [rf"[1-9][0-9]{{0,{digits - 1}}}{fraction}"]
    if positive:
        # 0.x with a non-zero digit among the first ``places``: one branch per its position.
        below += [rf"0\.{'0' * zeros}[1-9][0-9]{{0,{places - 1 - zeros}}}0*" for zeros in range(places)]
    else:
        below.append(rf"0{fraction}")
    return "^(?:" + "|".join([*below, ceiling]) + ")$"


@dataclass(frozen=True)
class DecimalInput(GroupedMetadata):
    """The validator and the JSON schema of a request decimal (see the module docstring)."""

    places: int
    digits: int
    positive: bool = False

    @property
    def ceiling(self) -> Decimal:
        return Decimal(10) ** self.digits

    @property
    def rule(self) -> str:
        lowest = "above 0" if self.positive else "from 0"
        return (f"must be a decimal {lowest} to {self.ceiling} with at most {self.places} decimal places "
                "(a JSON number or a string)")

    def __iter__(self) -> Iterator[object]:
        pattern = _pattern(self.places, self.digits, self.positive)
        number: dict[str, Any] = {"type": "number", "maximum": int(self.ceiling),
                                  "multipleOf": float(Decimal(1).scaleb(-self.places))}
        number["exclusiveMinimum" if self.positive else "minimum"] = 0
        text = {"type": "string", "pattern": pattern, "maxLength": MAX_NUMBER_CHARS}
        yield PlainValidator(self._checker(re.compile(pattern)))
        yield WithJsonSchema({"anyOf": [number, text]}, mode="validation")

    def _checker(self, pattern: re.Pattern[str]) -> Any:
        def check(value: Any) -> Decimal:
            if isinstance(value, str):
                if len(value) > MAX_NUMBER_CHARS or not pattern.fullmatch(value):
                    raise ValueError(self.rule)
                return Decimal(value)
            if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
                raise ValueError(self.rule)
            number = Decimal(value)
            exponent = number.normalize().as_tuple().exponent
            if not number.is_finite() or not isinstance(exponent, int) or exponent < -self.places:
                raise ValueError(self.rule)
            if number > self.ceiling or number < 0 or (self.positive and number == 0):
                raise ValueError(self.rule)
            return number.copy_abs()  # -0 is 0

        return check
