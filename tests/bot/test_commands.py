"""Chat text to bot commands (SPEC §12): what is a command, its arguments, and the replies to mistakes."""

from __future__ import annotations

from decimal import Decimal

import pytest

from otc_framework.bot.commands import CLOSE_ALIASES, CLOSE_WORDS, Command, CommandError, CommandKind, parse
from otc_framework.storage.models import Currency, Settlement

SPEC_CLOSE_ALIASES = ("fech", "fechar", "feha", "fechr", "fcha", "trava", "travar", "done", "close", "fecah", "fechaa")


def test_close_words_are_sorted_unique_and_include_the_spec_list() -> None:
    assert list(CLOSE_WORDS) == sorted(set(CLOSE_WORDS))
    assert CLOSE_ALIASES == frozenset(CLOSE_WORDS)
    assert "fecha" in CLOSE_ALIASES
    assert len(CLOSE_ALIASES - {"fecha"}) >= 38
    assert set(SPEC_CLOSE_ALIASES) <= CLOSE_ALIASES


def test_close_words_hold_no_ordinary_chat() -> None:
    # A false close is a trade.
    assert not {"ok", "okay", "sim", "yes", "s", "f", "blz", "beleza", "vlw", "valeu", "obrigado"} & CLOSE_ALIASES
    for word in ("/ok", "/sim", "/yes", "/f", "/s"):
        assert parse(word) is None


@pytest.mark.parametrize("word", CLOSE_WORDS)
def test_every_close_alias_closes(word: str) -> None:
    assert parse(f"/{word}") == Command(CommandKind.CLOSE)
    assert parse(f"/{word} 50k") == Command(CommandKind.CLOSE, volume=Decimal("50000"))
    assert parse(f"/{word.upper()}") == Command(CommandKind.CLOSE)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ref", Command(CommandKind.REF)),
        ("/ref 100k", Command(CommandKind.REF, volume=Decimal("100000"))),
        ("/ref 100k usdc d1", Command(CommandKind.REF, Decimal("100000"), Currency.USDC, Settlement.D1)),
        ("/ref d2 USDC 1,5kk", Command(CommandKind.REF, Decimal("1500000"), Currency.USDC, Settlement.D2)),
        ("/ref USDT", Command(CommandKind.REF)),
        ("/ref D1", Command(CommandKind.REF, settlement=Settlement.D1)),
        ("/ref d+1", Command(CommandKind.REF, settlement=Settlement.D1)),
        ("/ref D+2 usdc", Command(CommandKind.REF, currency=Currency.USDC, settlement=Settlement.D2)),
        ("/ref 10.000,50", Command(CommandKind.REF, volume=Decimal("10000.50"))),
        ("/ref 200.400 usdt d0", Command(CommandKind.REF, volume=Decimal("200400"))),
        ("/REF 10K", Command(CommandKind.REF, volume=Decimal("10000"))),
        ("/réf 10k", Command(CommandKind.REF, volume=Decimal("10000"))),
        ("/ref! 10k", Command(CommandKind.REF, volume=Decimal("10000"))),
        ("  /ref   10k\tusdc  ", Command(CommandKind.REF, volume=Decimal("10000"), currency=Currency.USDC)),
        ("/ref 10k\nobrigado!", Command(CommandKind.REF, volume=Decimal("10000"))),
        ("/ref@DeskBot 10k", Command(CommandKind.REF, volume=Decimal("10000"))),
        ("/fecha", Command(CommandKind.CLOSE)),
        ("/fechar 50k", Command(CommandKind.CLOSE, volume=Decimal("50000"))),
        ("/FECHA", Command(CommandKind.CLOSE)),
        ("/Fécha", Command(CommandKind.CLOSE)),
        ("/FÉCHA 1,5kk", Command(CommandKind.CLOSE, volume=Decimal("1500000"))),
        ("/fecha!", Command(CommandKind.CLOSE)),
        ("/fecha!! 10k", Command(CommandKind.CLOSE, volume=Decimal("10000"))),
        ("/fecha.", Command(CommandKind.CLOSE)),
        ("/fecha?", Command(CommandKind.CLOSE)),
        ("/travou", Command(CommandKind.CLOSE)),
        ("/off", Command(CommandKind.OFF)),
        ("/OFF", Command(CommandKind.OFF)),
        ("/off agora por favor", Command(CommandKind.OFF)),
        ("/help", Command(CommandKind.HELP)),
        ("/ajuda", Command(CommandKind.HELP)),
        ("/Ajuda!", Command(CommandKind.HELP)),
        ("/help ref", Command(CommandKind.HELP)),
        ("/pix", Command(CommandKind.PIX)),
        ("/pix 10k usdt", Command(CommandKind.PIX)),
    ],
)
def test_parses_commands(text: str, expected: Command) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "\n",
        "hello",
        "bom dia",
        "/",
        "/ ",
        "/ hello",
        "/ xyz",
        "/ fecha",
        "/xyz",
        "/xyz 10k",
        "ref 10k",
        "fecha",
        "fecha 10k",
        "10k",
        " ref /fecha",
        "//fecha",
        "/f",
        "/ok",
        "/refs",
        "/offf",
    ],
)
def test_ordinary_chat_is_not_a_command(text: str) -> None:
    assert parse(text) is None


@pytest.mark.parametrize(
    ("text", "token", "hint"),
    [
        ("/ref abc", "abc", "use USDT ou USDC, e D0, D1 ou D2"),
        ("/ref 10k XYZ", "XYZ", "use USDT ou USDC, e D0, D1 ou D2"),
        ("/ref 10k brl", "brl", "use USDT ou USDC"),
        ("/ref 10k d3", "d3", "use USDT ou USDC, e D0, D1 ou D2"),
        ("/ref 10k 20k", "20k", "só um volume"),
        ("/ref 10k 10k", "10k", "só um volume"),
        ("/ref usdt usdc", "usdc", "só uma moeda"),
        ("/ref usdt USDT", "USDT", "só uma moeda"),
        ("/ref d0 d1", "d1", "só um prazo"),
        ("/ref d1 d+1", "d+1", "só um prazo"),
        ("/ref -5k", "-5k", "Volume inválido"),
        ("/ref 0", "0", "maior que zero"),
        ("/ref 0k usdt", "0k", "maior que zero"),
        ("/ref 1.00.0", "1.00.0", "Volume inválido"),
        ("/ref 1e5", "1e5", "Volume inválido"),
        ("/fecha usdt", "usdt", "só o volume"),
        ("/fecha d1", "d1", "só o volume"),
        ("/fecha 10k USDC", "USDC", "só o volume"),
        ("/fecha abc", "abc", "Não entendi"),
        ("/fecha 10k 20k", "20k", "só um volume"),
        ("/fecha -1", "-1", "Volume inválido"),
        ("/trava 1,5.000k", "1,5.000k", "Volume inválido"),
    ],
)
def test_mistakes_get_a_reply_naming_the_token(text: str, token: str, hint: str) -> None:
    with pytest.raises(CommandError) as caught:
        parse(text)
    message = str(caught.value)
    assert f'"{token}"' in message
    assert hint in message
    assert isinstance(caught.value, ValueError)


def test_unknown_ref_token_reply_is_the_documented_one() -> None:
    with pytest.raises(CommandError) as caught:
        parse("/ref 10k XYZ")
    assert str(caught.value) == 'Não entendi "XYZ": use USDT ou USDC, e D0, D1 ou D2. Ex.: /ref 100k USDT D0'


def test_volume_errors_are_wrapped_not_leaked() -> None:
    with pytest.raises(CommandError) as caught:
        parse("/ref 1.00.0")
    assert str(caught.value).startswith('Volume inválido: "1.00.0"')
    assert "Exemplos:" in str(caught.value)


def test_command_is_immutable_with_spec_defaults() -> None:
    command = Command(CommandKind.REF)
    assert (command.volume, command.currency, command.settlement) == (None, Currency.USDT, Settlement.D0)
    with pytest.raises(AttributeError):
        command.volume = Decimal(1)  # type: ignore[misc]
