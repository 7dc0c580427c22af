"""Reading venue answers the same way in every adapter."""

from __future__ import annotations

import pytest

from otc_framework.venue_answers import CUT_MARK, one_line, wait_seconds


@pytest.mark.parametrize(("candidates", "expected"), [
    ((3, "7"), 3.0), ((None, "2.5"), 2.5), ((True, "nan", "inf", "-1", "soon", 0), 9.0), (("Wed, 21 Oct", 4.5), 4.5),
])
def test_wait_seconds_takes_the_first_positive_finite_number(candidates: tuple[object, ...], expected: float) -> None:
    assert wait_seconds(*candidates, default=9.0) == expected


def test_one_line_collapses_and_cuts() -> None:
    assert one_line("  chat\n not   found ", 50) == "chat not found"
    assert one_line("x" * 20, 10) == "x" * 9 + CUT_MARK
    assert one_line(None, 10) == "" and one_line(42, 10) == ""
