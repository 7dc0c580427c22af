"""Who in a client's group may trade through the bot (SPEC §12: `botParticipants`; empty = anyone).

The same person reaches us written many ways: an admin types `+55 (31) 99999-8888` or
`31999998888`, a transport sends `5531999998888@s.whatsapp.net`, `5531999998888:12@s.whatsapp.net`
(a device suffix), the old `…@c.us`, or a LID (`123456789012345@lid`, Baileys 7 / Evolution
2.3, often with the phone JID as an alternate). Comparing raw strings would refuse a client
who may trade, so both sides are reduced to sets of canonical identities and intersected.

Canonical forms:

- A phone number is its digits only (`5531999998888`). Formatting (`+`, spaces, dashes,
  parentheses) is dropped. Written without a country code (10 or 11 digits, no `+`, not a JID),
  it is taken as Brazilian and gets `55`.
- A LID is `lid:<digits>`, so it never equals a phone number with the same digits.
- Brazil's ninth digit: a number `55 31 9 9999 8888` (13 digits) and `55 31 9999 8888` (12
  digits) are the same mobile line when the 8-digit subscriber part starts with 6, 7, 8 or 9
  (landlines start with 2–5) and the DDD has no zero digit. Evolution's `createJid`
  (2.3.6 `src/utils/createJid.ts`, research note bot_alerts.md §1.6) drops the ninth digit
  only for DDD ≥ 31 when the subscriber starts with 7–9, and other senders keep it; a
  comparison cannot know which side did what, so both forms are included for every DDD.
- Group (`@g.us`), broadcast and other non-person JIDs, and text without digits, have no
  identity: such an allowed entry matches nobody.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

_PHONE_DOMAINS = frozenset({"s.whatsapp.net", "c.us"})
_LID_DOMAIN = "lid"
_LID_PREFIX = "lid:"
_MOBILE_FIRST_DIGITS = frozenset("6789")


def identities(raw: str) -> frozenset[str]:
    """The canonical identities of one participant id or phone number (see the module docstring)."""
    text = raw.strip().lower()
    if not text:
        return frozenset()
    if text.startswith(_LID_PREFIX):
        return _lid(text[len(_LID_PREFIX) :])
    if "@" in text:
        user, _, domain = text.rpartition("@")
        # The device suffix names one of the person's phones or browsers, not another person.
        user = user.partition(":")[0]
        if domain == _LID_DOMAIN:
            return _lid(user)
        if domain not in _PHONE_DOMAINS or not _all_digits(user):
            return frozenset()
        return _phone(user)
    digits = "".join(ch for ch in text if ch.isascii() and ch.isdigit())
    if not digits:
        return frozenset()
    if not text.startswith("+") and len(digits) in (10, 11):
        digits = "55" + digits
    return _phone(digits)


def may_trade(sender: str, alternates: Sequence[str], allowed: Sequence[str]) -> bool:
    """Whether `sender` (with the transport's alternate ids for them) is on the `allowed` list.

    An empty list, blank entries aside, lets anyone in the group trade. A list holding only
    entries with no identity lets nobody: the admin meant to restrict, so it fails closed.
    """
    entries = [entry for entry in allowed if entry.strip()]
    if not entries:
        return True
    return not _union([sender, *alternates]).isdisjoint(_union(entries))


def _union(raws: Iterable[str]) -> frozenset[str]:
    return frozenset().union(*(identities(raw) for raw in raws))


def _lid(user: str) -> frozenset[str]:
    user = user.partition(":")[0]
    return frozenset({_LID_PREFIX + user}) if _all_digits(user) else frozenset()


def _all_digits(text: str) -> bool:
    # str.isdigit alone accepts superscripts and other scripts' digits.
    return text.isascii() and text.isdigit()


def _phone(digits: str) -> frozenset[str]:
    forms = {digits}
    if digits.startswith("55") and "0" not in digits[2:4]:
        subscriber = digits[4:]
        if len(digits) == 13 and subscriber[0] == "9" and subscriber[1] in _MOBILE_FIRST_DIGITS:
            forms.add(digits[:4] + subscriber[1:])
        elif len(digits) == 12 and subscriber[0] in _MOBILE_FIRST_DIGITS:
            forms.add(digits[:4] + "9" + subscriber)
    return frozenset(forms)
