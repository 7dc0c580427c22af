"""Reading a volume the way a Brazilian desk client types it in chat (SPEC §12).

Clients write `10k`, `1,5kk`, `200.400` or `10.000,50`, mixing the pt-BR habit (dot groups
thousands, comma marks decimals) with the English one. A misread volume is a wrong trade, so
the rules below are strict: anything they do not cover is refused with a message naming the
token, never guessed.

Rules, applied to the token after trimming and lower-casing:

- Only ASCII digits, `.`, `,` and one optional suffix are allowed: `k` (×1,000), or `kk`,
  `m`, `mm`, `mi` (×1,000,000). Signs, spaces inside, exponents and other letters are refused.
- With a suffix, the number takes at most one separator, `.` or `,`, and it is the decimal
  separator: `1.5kk` = `1,5kk` = 1,500,000; `1.000k` = 1,000 (not a million).
- Without a suffix:
  - `.` and `,` both present: the last one to appear is the decimal separator (it may appear
    once) and the other groups thousands: `10.000,50` = `10,000.50` = 10,000.50.
  - only dots: they group thousands when every group after the first has exactly 3 digits
    and the first has 1 to 3 digits, not starting with 0 (`200.400`, `1.000.000`); otherwise
    a single dot is decimal (`10.5`, `0.500` = 0.5, `1234.567` = 1,234.567).
  - only commas: a single comma is always the pt-BR decimal separator, so `10,5` = 10.5 and
    `100,000` = 100 exactly; several commas must be 3-digit thousands groups (`1,000,000`).
  - Thousands groups, wherever they appear, are 1–3 digits then exactly 3 digits (`1.00.0`
    is refused); a decimal separator needs digits on both sides (`10.`, `.5` are refused).
- The value must be greater than zero and have at most 6 decimal places after the suffix is
  applied (`1,5k` is fine, `0,0000001` is not); at most 30 digits are read.

The result is a plain fixed-point `Decimal` (`str()` never shows an exponent): quantized to a
whole number when integral (`Decimal("1500000")`, not `1.5E+6`), else with its trailing zeros
dropped (`Decimal("10000.5")`). Order limits (minimum, maximum) are the engine's job.
"""

from __future__ import annotations

import re
from decimal import Context, Decimal, localcontext

EXAMPLES = "10k, 1,5kk, 200.400, 10.000,50"
MAX_DECIMAL_PLACES = 6
# Far above any order, and small enough that the arithmetic below is exact in its context.
MAX_DIGITS = 30

_MULTIPLIERS = {"": 0, "k": 3, "kk": 6, "m": 6, "mm": 6, "mi": 6}
# Longest suffix first so `kk` is not read as `k` after a stray `k`.
_TOKEN = re.compile(r"([0-9.,]+)(kk|k|mm|mi|m)?", re.ASCII)
_GROUPED = re.compile(r"[1-9][0-9]{0,2}(?:[.,][0-9]{3})+", re.ASCII)


class VolumeError(ValueError):
    """A volume the bot cannot read; its text is the pt-BR reply for the user."""

    def __init__(self, token: str, reason: str | None = None) -> None:
        self.token = token
        self.reason = reason
        detail = f" ({reason})" if reason else ""
        super().__init__(f'Volume inválido: "{token}"{detail}. Exemplos: {EXAMPLES}')


def parse_volume(token: str) -> Decimal:
    """The volume `token` denotes, by the module's rules; `VolumeError` when it is not one."""
    text = token.strip().lower()
    match = _TOKEN.fullmatch(text)
    if match is None:
        raise VolumeError(token)
    number, suffix = match.group(1), match.group(2) or ""
    if sum(ch.isdigit() for ch in number) > MAX_DIGITS:
        raise VolumeError(token, "número grande demais")
    plain = _plain_number(number, has_suffix=bool(suffix))
    if plain is None:
        raise VolumeError(token)
    # Enough precision that scaling and quantizing a MAX_DIGITS number never rounds.
    with localcontext(Context(prec=MAX_DIGITS + 20)):
        value = Decimal(plain).scaleb(_MULTIPLIERS[suffix])
        if not value.is_finite() or value <= 0:
            raise VolumeError(token, "precisa ser maior que zero")
        exponent = value.normalize().as_tuple().exponent
        assert isinstance(exponent, int)  # finite, so never 'n', 'N' or 'F'
        if exponent < -MAX_DECIMAL_PLACES:
            raise VolumeError(token, f"no máximo {MAX_DECIMAL_PLACES} casas decimais")
        if exponent >= 0:
            return value.quantize(Decimal(1))
        return value.normalize()


def _plain_number(number: str, *, has_suffix: bool) -> str | None:
    """`number` with separators resolved, as `digits[.digits]`; `None` when malformed."""
    dots, commas = number.count("."), number.count(",")
    if dots + commas == 0:
        return number
    if has_suffix:
        if dots + commas > 1:
            return None
        return _decimal(number.replace(",", "."))
    if dots and commas:
        decimal_sep = "," if number.rfind(",") > number.rfind(".") else "."
        if number.count(decimal_sep) != 1:
            return None
        whole, fraction = number.split(decimal_sep)
        if not _GROUPED.fullmatch(whole) or not fraction:
            return None
        return f"{_ungroup(whole)}.{fraction}"
    sep = "." if dots else ","
    if _GROUPED.fullmatch(number) and (sep == "." or commas > 1):
        return _ungroup(number)
    if dots + commas == 1:
        return _decimal(number.replace(",", "."))
    return None


def _decimal(number: str) -> str | None:
    """`number` holding one `.`, when it has digits on both sides of it."""
    whole, _, fraction = number.partition(".")
    return number if whole and fraction else None


def _ungroup(number: str) -> str:
    return number.replace(".", "").replace(",", "")
