"""Volumes as Brazilian desk clients type them (SPEC §12), and everything refused rather than guessed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from otc_framework.bot.volumes import VolumeError, parse_volume


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        # SPEC §12.
        ("10k", "10000"),
        ("1.5kk", "1500000"),
        ("1,5kk", "1500000"),
        ("200.400", "200400"),
        ("10.000,50", "10000.50"),
        # Plain numbers and the pt-BR decimal comma.
        ("10000", "10000"),
        ("10,5", "10.5"),
        ("010", "10"),
        # Suffixes, any case; with one, a single separator is decimal.
        ("10K", "10000"),
        ("2kk", "2000000"),
        ("2KK", "2000000"),
        ("2m", "2000000"),
        ("2M", "2000000"),
        ("2mm", "2000000"),
        ("2mi", "2000000"),
        ("2Mi", "2000000"),
        ("1,5k", "1500"),
        ("1.5k", "1500"),
        ("1.000k", "1000"),
        ("0,5kk", "500000"),
        ("1,234567k", "1234.567"),
        ("1.0000005kk", "1000000.5"),
        ("1,0000000001kk", "1000000.0001"),
        # Both separators: the last one is decimal.
        ("10,000.50", "10000.50"),
        ("1.000.000,25", "1000000.25"),
        ("1,000,000.25", "1000000.25"),
        # Only dots: 3-digit groups are thousands, otherwise a single dot is decimal.
        ("1.000.000", "1000000"),
        ("1.000", "1000"),
        ("10.5", "10.5"),
        ("10.50", "10.5"),
        ("0.500", "0.5"),
        ("01.000", "1"),  # a leading zero is no thousands group
        ("1234.567", "1234.567"),
        ("0.000001", "0.000001"),
        # Only commas: one is decimal (so 100,000 is a hundred), several are 3-digit groups.
        ("100,000", "100"),
        ("1,000,000", "1000000"),
        ("10,123456", "10.123456"),
        # Surrounding whitespace is not part of the token.
        ("  50k ", "50000"),
    ],
)
def test_reads_brazilian_and_english_forms(token: str, expected: str) -> None:
    assert parse_volume(token) == Decimal(expected)


@pytest.mark.parametrize(
    ("token", "text"),
    [("1.5kk", "1500000"), ("10k", "10000"), ("10.000,50", "10000.5"), ("100,000", "100"), ("0,000001", "0.000001")],
)
def test_result_is_plain_fixed_point(token: str, text: str) -> None:
    value = parse_volume(token)
    assert str(value) == text
    assert "E" not in str(value)


@pytest.mark.parametrize(
    "token",
    [
        "",
        "   ",
        "abc",
        "k",
        "kk",
        "-5k",
        "+5k",
        "-10",
        "0",
        "0k",
        "0,0",
        "000",
        "1e5",
        "1E5",
        "inf",
        "nan",
        "Infinity",
        "10 k",
        "10 000",
        "10x",
        "10kkk",
        "10b",
        "10mil",
        "R$10",
        "10%",
        "1.00.0",
        "1,00,0",
        "1.000.00",
        "10.000,50,1",
        "10,000.50.1",
        "1.00,5",
        ".5",
        "5.",
        ",5",
        "5,",
        ".",
        ",",
        "1.000,",
        "1,5.000k",
        "1.000,5k",
        "1..5",
        "0,0000001",
        "0.0000001",
        "1.0000000001k",
        "1,0000000000001kk",
        "1" * 31,
        "١٠",  # Arabic-Indic digits
        "１０",  # fullwidth digits
    ],
)
def test_refuses_what_it_cannot_read_for_sure(token: str) -> None:
    with pytest.raises(VolumeError) as caught:
        parse_volume(token)
    message = str(caught.value)
    assert message.startswith(f'Volume inválido: "{token}"')
    assert "Exemplos: 10k, 1,5kk, 200.400, 10.000,50" in message
    assert caught.value.token == token


def test_error_is_a_value_error_with_a_reason_when_useful() -> None:
    with pytest.raises(ValueError, match="maior que zero"):
        parse_volume("0")
    with pytest.raises(VolumeError, match="6 casas decimais"):
        parse_volume("0,0000001")
    assert str(VolumeError("abc")) == 'Volume inválido: "abc". Exemplos: 10k, 1,5kk, 200.400, 10.000,50'


def test_thirty_digits_are_read_exactly() -> None:
    assert parse_volume("9" * 30 + "kk") == Decimal("9" * 30 + "000000")
