"""Reading one chat message as a bot command (SPEC §12), whatever channel it came from.

A group chat is mostly people talking, so the parser answers `None` for anything that is not
plainly meant for the bot: the text must start with `/` and a known command word. Only then
are mistakes in the arguments worth a reply (`CommandError`, whose text is that reply).

- The command word ignores case, accents and trailing punctuation (`/FECHA`, `/Fécha`,
  `/fecha!`), and a Telegram-style `@botname` tail (`/fecha@DeskBot`).
- Only the first line is read: clients often add a greeting on the next one.
- Arguments are whitespace-separated, case-insensitive, in any order: one currency (`usdt`,
  `usdc`), one settlement (`d0`, `d1`, `d2`, also written `d+1`) and one volume
  (`volumes.parse_volume`). Repeating any of them is an error, even with the same value.
- `/ref [vol] [currency] [settlement]` defaults to USDT D0 with no volume. `/fecha [vol]`
  takes a volume only: the currency and settlement are the quote's. `/off`, `/help`
  (`/ajuda`) and `/pix` ignore their arguments.
- `/fecha` has many aliases and typos (`CLOSE_WORDS`). A false close is a trade, so none of
  them is a word people use in ordinary chat (no `ok`, `sim`, `yes`, or a bare `/f`).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from otc_framework.bot.volumes import VolumeError, parse_volume
from otc_framework.storage.models import Currency, Settlement


class CommandKind(StrEnum):
    REF = "REF"
    OFF = "OFF"
    CLOSE = "CLOSE"
    HELP = "HELP"
    PIX = "PIX"


@dataclass(frozen=True, slots=True)
class Command:
    kind: CommandKind
    volume: Decimal | None = None
    currency: Currency = Currency.USDT
    settlement: Settlement = Settlement.D0


class CommandError(ValueError):
    """A command the bot recognised but cannot carry out as written; its text is the pt-BR reply."""


# The close words as they are compared: lower case, no accents, no leading slash. Written out
# (not generated from "fecha") so a reviewer can judge each one; kept sorted.
CLOSE_WORDS: tuple[str, ...] = (
    "close",
    "closed",
    "deal",
    "done",
    "efcha",
    "fceha",
    "fcha",
    "fdcha",
    "feca",
    "fecah",
    "fecba",
    "fecga",
    "fech",
    "fecha",
    "fechaa",
    "fechaaa",
    "fechado",
    "fechamos",
    "fechar",
    "fechei",
    "fechha",
    "fecho",
    "fechou",
    "fechq",
    "fechr",
    "fechs",
    "fechw",
    "fechz",
    "fecja",
    "fecna",
    "fecya",
    "feecha",
    "feha",
    "fehca",
    "fexha",
    "ffecha",
    "frcha",
    "fvcha",
    "fwcha",
    "gecha",
    "recha",
    "tarva",
    "trav",
    "trava",
    "travado",
    "travar",
    "travei",
    "travo",
    "travou",
    "trva",
    "trvaa",
    "vecha",
)
CLOSE_ALIASES: frozenset[str] = frozenset(CLOSE_WORDS)

_WORDS: dict[str, CommandKind] = {
    "ref": CommandKind.REF,
    "off": CommandKind.OFF,
    "help": CommandKind.HELP,
    "ajuda": CommandKind.HELP,
    "pix": CommandKind.PIX,
    **{word: CommandKind.CLOSE for word in CLOSE_WORDS},
}
_CURRENCIES = {c.value.lower(): c for c in Currency}
_SETTLEMENTS = {s.value.lower(): s for s in Settlement} | {f"d+{s.value[1:]}": s for s in Settlement}
_TRAILING_PUNCTUATION = "!?.,;:…"

_REF_EXAMPLE = "Ex.: /ref 100k USDT D0"
_CLOSE_EXAMPLE = "Ex.: /fecha ou /fecha 50k"


def parse(text: str) -> Command | None:
    """The command `text` holds; `None` when it is not meant for the bot."""
    lines = text.strip().splitlines()
    if not lines or not lines[0].startswith("/"):
        return None
    body = lines[0][1:]
    # "/ hello" is chat, not a command with an empty word.
    if not body or body[0].isspace():
        return None
    word, *args = body.split()
    kind = _WORDS.get(_command_word(word))
    if kind is None:
        return None
    if kind is CommandKind.REF:
        return _ref(args)
    if kind is CommandKind.CLOSE:
        return _close(args)
    return Command(kind)


def _command_word(word: str) -> str:
    word = word.partition("@")[0]
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return bare.rstrip(_TRAILING_PUNCTUATION)


def _ref(args: list[str]) -> Command:
    volume: Decimal | None = None
    currency: Currency | None = None
    settlement: Settlement | None = None
    seen: dict[str, str] = {}
    for arg in args:
        key = arg.casefold()
        if key in _CURRENCIES:
            _once(seen, "currency", arg, "Escolha só uma moeda", _REF_EXAMPLE)
            currency = _CURRENCIES[key]
        elif key in _SETTLEMENTS:
            _once(seen, "settlement", arg, "Escolha só um prazo", _REF_EXAMPLE)
            settlement = _SETTLEMENTS[key]
        else:
            volume = _volume(arg, seen, _REF_EXAMPLE, f'Não entendi "{arg}": use USDT ou USDC, e D0, D1 ou D2.')
    return Command(
        CommandKind.REF,
        volume=volume,
        currency=currency or Currency.USDT,
        settlement=settlement or Settlement.D0,
    )


def _close(args: list[str]) -> Command:
    volume: Decimal | None = None
    seen: dict[str, str] = {}
    for arg in args:
        key = arg.casefold()
        if key in _CURRENCIES or key in _SETTLEMENTS:
            raise CommandError(
                f'O /fecha leva só o volume; a moeda e o prazo são os da cotação: "{arg}". {_CLOSE_EXAMPLE}'
            )
        volume = _volume(arg, seen, _CLOSE_EXAMPLE, f'Não entendi "{arg}".')
    return Command(CommandKind.CLOSE, volume=volume)


def _volume(arg: str, seen: dict[str, str], example: str, unknown: str) -> Decimal:
    # A token without a digit, or starting with a letter (`d3`, `brl10`), was never meant as a
    # volume: say what the bot expected instead of explaining volume formats.
    if arg[0].isalpha() or not any(ch.isdigit() for ch in arg):
        raise CommandError(f"{unknown} {example}")
    try:
        value = parse_volume(arg)
    except VolumeError as exc:
        raise CommandError(str(exc)) from exc
    _once(seen, "volume", arg, "Informe só um volume", example)
    return value


def _once(seen: dict[str, str], slot: str, arg: str, message: str, example: str) -> None:
    if slot in seen:
        raise CommandError(f'{message}: "{seen[slot]}" e "{arg}". {example}')
    seen[slot] = arg
