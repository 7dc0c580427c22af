"""Pure rules of the reference data services: spread percentages, path members, control values
as JSON carries them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from otc_framework.admin.spreads import checked_pct, member
from otc_framework.controls.service import json_value
from otc_framework.errors import ValidationFailed
from otc_framework.storage.models import Settlement


@pytest.mark.parametrize(("raw", "stored"), [
    ("0", "0.0000"), ("-0", "0.0000"), ("10", "10.0000"), ("0.35000", "0.3500"), ("1E+1", "10.0000"),
    ("0.0001", "0.0001"),
])
def test_a_spread_is_kept_at_four_places(raw: str, stored: str) -> None:
    assert format(checked_pct(Decimal(raw), "spreadPct"), "f") == stored


@pytest.mark.parametrize("raw", ["-0.0001", "10.0001", "0.00001", "NaN", "Infinity", "1E+2"])
def test_a_spread_outside_the_rules_names_the_field(raw: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        checked_pct(Decimal(raw), "lpSpreadPct")
    assert refused.value.extra["field"] == "lpSpreadPct"


def test_a_path_member_names_its_field() -> None:
    assert member(Settlement, "D2", "settlement") is Settlement.D2
    with pytest.raises(ValidationFailed, match="expected one of D0, D1, D2") as refused:
        member(Settlement, "d2", "settlement")
    assert refused.value.extra["field"] == "settlement"


def test_control_values_as_json() -> None:
    assert [json_value(v) for v in (True, 7, Decimal("0.50"), Decimal("1E+1"), "auto_best", ("a", "b"), ())] == [
        True, 7, "0.50", "10", "auto_best", "a,b", ""]
