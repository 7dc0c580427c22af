"""Who in a group may trade (SPEC §12): one person written many ways, LIDs, and Brazil's ninth digit."""

from __future__ import annotations

import pytest

from otc_framework.bot.participants import identities, may_trade

WITH_NINE = "5531999998888"
WITHOUT_NINE = "553199998888"
LID = "123456789012345@lid"


@pytest.mark.parametrize(
    "raw",
    [
        "5531999998888@s.whatsapp.net",
        "5531999998888:12@s.whatsapp.net",
        "5531999998888@c.us",
        "553199998888@s.whatsapp.net",
        "553199998888:3@s.whatsapp.net",
        "+55 (31) 99999-8888",
        "+55 31 9999-8888",
        "55 31 99999 8888",
        "(31) 99999-8888",
        "31999998888",
        "3199998888",
        "  5531999998888  ",
        "5531999998888@S.WHATSAPP.NET",
    ],
)
def test_one_brazilian_mobile_written_every_way(raw: str) -> None:
    assert identities(raw) == frozenset({WITH_NINE, WITHOUT_NINE})


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # Ninth digit both ways, for DDDs below 31 too (Evolution only drops it from 31 up).
        ("5511987654321", {"5511987654321", "551187654321"}),
        ("551187654321", {"5511987654321", "551187654321"}),
        ("5521966665555", {"5521966665555", "552166665555"}),
        ("558196349077", {"5581996349077", "558196349077"}),
        # Landlines (subscriber starts 2-5) have no ninth digit.
        ("551132654321", {"551132654321"}),
        ("+55 11 3265-4321", {"551132654321"}),
        ("1132654321", {"551132654321"}),
        # 13 digits whose fifth is not a 9, or a 9 before a landline-looking subscriber: left as is.
        ("5511887654321", {"5511887654321"}),
        ("5511932654321", {"5511932654321"}),
        # A DDD with a zero does not exist.
        ("550187654321", {"550187654321"}),
        # Not Brazilian: digits only, never a ninth-digit twin.
        ("14155552671@s.whatsapp.net", {"14155552671"}),
        ("+1 (415) 555-2671", {"14155552671"}),
        ("+44 7911 123456", {"447911123456"}),
        ("351912345678@s.whatsapp.net", {"351912345678"}),
        # LIDs, device suffix or not, written as a JID or in the canonical form.
        (LID, {"lid:123456789012345"}),
        ("123456789012345:7@lid", {"lid:123456789012345"}),
        ("LID:123456789012345", {"lid:123456789012345"}),
    ],
)
def test_identities(raw: str, expected: set[str]) -> None:
    assert identities(raw) == frozenset(expected)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "fulano",
        "@",
        "@s.whatsapp.net",
        "abc@s.whatsapp.net",
        "120363025246125888@g.us",
        "status@broadcast",
        "1234@broadcast",
        "abc@lid",
        "@lid",
        "lid:",
        "lid:abc",
        "+",
        "()-",
    ],
)
def test_garbage_and_non_people_have_no_identity(raw: str) -> None:
    assert identities(raw) == frozenset()


def test_a_lid_never_equals_a_phone_number_with_the_same_digits() -> None:
    assert identities("5531999998888@lid").isdisjoint(identities("5531999998888@s.whatsapp.net"))
    assert not may_trade("5531999998888@lid", [], ["5531999998888"])
    assert not may_trade("5531999998888@s.whatsapp.net", [], ["5531999998888@lid"])


@pytest.mark.parametrize("allowed", [[], [""], ["  ", ""]])
def test_an_empty_list_lets_anyone_trade(allowed: list[str]) -> None:
    assert may_trade("5511987654321@s.whatsapp.net", [], allowed)
    assert may_trade(LID, [], allowed)


@pytest.mark.parametrize(
    ("sender", "allowed"),
    [
        # The ninth digit, both directions.
        ("553199998888@s.whatsapp.net", ["+55 31 99999-8888"]),
        ("5531999998888@s.whatsapp.net", ["553199998888"]),
        ("5511987654321@s.whatsapp.net", ["11 8765-4321"]),
        ("551187654321@s.whatsapp.net", ["(11) 98765-4321"]),
        # Device suffix.
        ("5531999998888:12@s.whatsapp.net", ["5531999998888@s.whatsapp.net"]),
        # Old form.
        ("5531999998888@c.us", ["31999998888"]),
        # Formatting noise on the list.
        ("5531999998888@s.whatsapp.net", [" +55 (31) 9 9999-8888 "]),
        # The list holds a LID.
        (LID, [LID]),
        ("123456789012345:4@lid", ["lid:123456789012345"]),
        # Non-Brazilian.
        ("14155552671@s.whatsapp.net", ["+1 415 555 2671"]),
        # Garbage entries do not spoil the good ones.
        ("5531999998888@s.whatsapp.net", ["fulano", "", "120363025246125888@g.us", "31999998888"]),
    ],
)
def test_allowed(sender: str, allowed: list[str]) -> None:
    assert may_trade(sender, [], allowed)


def test_a_lid_sender_passes_through_its_phone_alternate() -> None:
    # Evolution 2.3.5+: key.participant is the LID, key.participantAlt the phone JID.
    assert may_trade(LID, ["553199998888@s.whatsapp.net"], ["+55 31 99999-8888"])
    assert not may_trade(LID, [], ["+55 31 99999-8888"])
    # And the other way round: a phone sender whose alternate is the listed LID.
    assert may_trade("5531999998888@s.whatsapp.net", [LID], [LID])


@pytest.mark.parametrize(
    ("sender", "alternates", "allowed"),
    [
        ("5531999998888@s.whatsapp.net", [], ["5531999997777"]),
        ("5531999998888@s.whatsapp.net", [], ["5521999998888"]),
        # Different country, same national digits.
        ("14155552671@s.whatsapp.net", [], ["4155552671"]),
        # A landline is not its ninth-digit twin.
        ("551132654321@s.whatsapp.net", [], ["5511932654321"]),
        (LID, ["999999999999999@lid"], ["5531999998888"]),
        ("987654321098765@lid", [], [LID]),
        # A list holding only garbage fails closed.
        ("5531999998888@s.whatsapp.net", [], ["fulano"]),
        ("5531999998888@s.whatsapp.net", [], ["120363025246125888@g.us"]),
        # A sender with no identity matches nothing.
        ("", [], ["5531999998888"]),
        ("status@broadcast", [], ["5531999998888"]),
    ],
)
def test_refused(sender: str, alternates: list[str], allowed: list[str]) -> None:
    assert not may_trade(sender, alternates, allowed)
