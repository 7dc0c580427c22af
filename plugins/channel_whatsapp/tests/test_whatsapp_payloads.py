"""Reading Evolution's ``messages.upsert`` bodies: the real captures and the variants derived
from them (fixtures/README.md says which is which)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otc_channel_whatsapp.payloads import Skip, normalise_event, parse_event, timestamp
from otc_framework.ports import InboundMessage

FIXTURES = Path(__file__).parent / "fixtures"
GROUP = "120363041234567890@g.us"


def _load(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return body


def _parsed(body: Any, instance: str | None = None, channel: str = "whatsapp") -> InboundMessage:
    parsed = parse_event(body, instance or body["instance"], channel)
    assert isinstance(parsed, InboundMessage), parsed
    return parsed


def _skipped(body: Any, instance: str = "x") -> str:
    parsed = parse_event(body, instance)
    assert isinstance(parsed, Skip), parsed
    return parsed.reason


def test_v1_january_2024_conversation() -> None:
    message = _parsed(_load("v1_2024_01_conversation.json"), channel="wa")
    assert message == InboundMessage(
        channel="wa", message_id="3A6687C4331054C34F0F", chat_id="553191819932@s.whatsapp.net",
        sender="553191819932@s.whatsapp.net", text="Eu te amo", from_me=False, is_group=False,
        sent_at=datetime(2024, 1, 19, 17, 13, 49, tzinfo=UTC), sender_alternates=(), sender_name="Leila Fernanda",
    )


def test_v1_extended_text_is_read() -> None:
    message = _parsed(_load("v1_2024_01_extended_text.json"))
    assert message.text == "blz"


def test_v2_november_2025_own_message_is_flagged() -> None:
    message = _parsed(_load("v2_2025_11_conversation.json"))
    assert message.from_me is True
    assert (message.message_id, message.text) == ("3AE99D6A1DBF3F9A0578", "Texto da mensagem")
    assert message.chat_id == message.sender == "558197088404@s.whatsapp.net"
    assert message.sent_at == datetime(2025, 11, 22, 0, 25, 3, tzinfo=UTC)
    # The top-level sender is the connected account, never the author.
    assert message.sender != "558196349077@s.whatsapp.net"


def test_v2_lid_only_capture_has_no_message_id_and_is_skipped() -> None:
    assert _skipped(_load("v2_2_3_lid_only.json"), "Teste") == "no data.key.id"


def test_v2_lid_only_with_an_id_names_the_lid_alone() -> None:
    body = _load("v2_2_3_lid_only.json")
    body["data"]["key"]["id"] = "3A00000000000000LID1"
    message = _parsed(body)
    assert (message.sender, message.sender_alternates, message.text) == ("13718@lid", (), "Oi")


def test_v2_group_author_is_the_participant() -> None:
    message = _parsed(_load("derived_v2_group.json"))
    assert (message.chat_id, message.sender, message.is_group) == (GROUP, "558197088404@s.whatsapp.net", True)
    assert message.text == "/ref 1,5kk USDT D0"
    assert message.sender_alternates == ()


def test_group_lid_participant_carries_its_phone_jid() -> None:
    message = _parsed(_load("derived_v2_3_6_group_lid.json"))
    assert message.sender == "131159895875721@lid"
    assert message.sender_alternates == ("5511965525438@s.whatsapp.net",)


def test_sender_pn_is_an_alternate() -> None:
    message = _parsed(_load("derived_v2_3_4_group_sender_pn.json"))
    assert (message.sender, message.sender_alternates) == ("131159895875721@lid", ("5511965525438@s.whatsapp.net",))


def test_direct_lid_chat_takes_remote_jid_alt() -> None:
    message = _parsed(_load("derived_v2_3_6_direct_lid_alt.json"))
    assert (message.chat_id, message.sender, message.is_group) == ("13718@lid", "13718@lid", False)
    assert message.sender_alternates == ("5531991819932@s.whatsapp.net",)


def test_remote_jid_alt_of_a_group_is_not_the_author() -> None:
    body = _load("derived_v2_group.json")
    body["data"]["key"]["remoteJidAlt"] = "120363999999999999@g.us"
    assert _parsed(body).sender_alternates == ()


def test_data_level_alternates_are_read_once() -> None:
    body = _load("derived_v2_3_6_group_lid.json")
    body["data"]["participantAlt"] = "5511965525438@s.whatsapp.net"
    body["data"]["senderPn"] = "551165525438@s.whatsapp.net"
    assert _parsed(body).sender_alternates == ("5511965525438@s.whatsapp.net", "551165525438@s.whatsapp.net")


def test_v1_group_with_link_and_long_timestamp() -> None:
    message = _parsed(_load("derived_v1_group_long_timestamp.json"))
    assert message.is_group and message.sender == "553191819932@s.whatsapp.net"
    assert message.text == "/pix https://example.com/pix"
    assert message.sent_at == datetime.fromtimestamp(1705846799, UTC)


@pytest.mark.parametrize("event", ["messages.upsert", "MESSAGES_UPSERT", "messages-upsert", "Messages.Upsert"])
def test_event_name_is_normalised_evolutions_way(event: str) -> None:
    body = _load("derived_v2_group.json")
    body["event"] = event
    assert isinstance(parse_event(body, body["instance"]), InboundMessage)
    assert normalise_event(event) == "MESSAGES_UPSERT"


def _group_with(**changes: Any) -> dict[str, Any]:
    body = _load("derived_v2_group.json")
    for path, value in changes.items():
        target = body
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        if value is ...:
            del target[leaf]
        else:
            target[leaf] = value
    return body


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ([1, 2], "body is not a JSON object"),
        ("text", "body is not a JSON object"),
        ({}, "no event name"),
        (_group_with(event="send.message"), "event 'send.message' is not messages.upsert"),
        (_group_with(event="connection.update"), "event 'connection.update' is not messages.upsert"),
        (_group_with(instance="another"), "event of another instance"),
        (_group_with(data=None), "no data.key"),
        (_group_with(data__key=...), "no data.key"),
        (_group_with(data__key__remoteJid=5), "no data.key.remoteJid"),
        (_group_with(data__key__remoteJid="status@broadcast"), "status or broadcast message"),
        (_group_with(data__key__id=...), "no data.key.id"),
        (_group_with(data__message={"imageMessage": {"url": "https://mmg.whatsapp.net/x"}}),
         "no text (media, reaction or protocol message)"),
        (_group_with(data__message__conversation="   "), "no text (media, reaction or protocol message)"),
        (_group_with(data__message=None), "no text (media, reaction or protocol message)"),
        (_group_with(data__key__participant=...), "group message without data.key.participant"),
    ],
)
def test_what_is_skipped_and_why(body: Any, reason: str) -> None:
    assert _skipped(body, "nome-da-instancia") == reason


def test_skip_reason_never_quotes_the_body_beyond_a_cut_event_name() -> None:
    body = _group_with(event="x" * 500 + "sua-api-key", instance="other")
    reason = _skipped(body, "nome-da-instancia")
    assert "sua-api-key" not in reason and len(reason) < 100


def test_group_author_falls_back_to_data_participant() -> None:
    body = _group_with(data__key__participant=...)
    body["data"]["participant"] = "558197088404@s.whatsapp.net"
    assert _parsed(body).sender == "558197088404@s.whatsapp.net"


def test_text_is_kept_verbatim() -> None:
    text = "  /fecha 10.000,50\nobrigado 🙏  "
    assert _parsed(_group_with(data__message__conversation=text)).text == text


def test_conversation_wins_over_extended_text() -> None:
    body = _group_with(data__message={"conversation": "a", "extendedTextMessage": {"text": "b"}})
    assert _parsed(body).text == "a"


def test_missing_push_name_and_timestamp_are_none() -> None:
    body = _group_with(data__pushName=..., data__messageTimestamp=...)
    message = _parsed(body)
    assert (message.sender_name, message.sent_at) == (None, None)


def test_from_me_only_when_true() -> None:
    assert _parsed(_group_with(data__key__fromMe="true")).from_me is False
    assert _parsed(_group_with(data__key__fromMe=True)).from_me is True


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (1705684429, datetime(2024, 1, 19, 17, 13, 49, tzinfo=UTC)),
        ("1717689097", datetime(2024, 6, 6, 15, 51, 37, tzinfo=UTC)),
        (1705684429.0, datetime(2024, 1, 19, 17, 13, 49, tzinfo=UTC)),
        ({"low": 1705846799, "high": 0, "unsigned": True}, datetime.fromtimestamp(1705846799, UTC)),
        ({"low": -1, "high": 0, "unsigned": True}, datetime.fromtimestamp(2**32 - 1, UTC)),
        ({"low": 5, "high": 1, "unsigned": False}, datetime.fromtimestamp(2**32 + 5, UTC)),
        ({"low": 1, "high": -1, "unsigned": False}, None),
        ({"low": "1", "high": 0}, None),
        (True, None),
        (0, None),
        (-5, None),
        ("soon", None),
        (float("nan"), None),
        (10**30, None),
        (None, None),
        ([1705684429], None),
    ],
)
def test_timestamps(raw: Any, expected: datetime | None) -> None:
    assert timestamp(raw) == expected


def test_parsing_never_mutates_the_body() -> None:
    body = _load("derived_v2_3_6_group_lid.json")
    before = copy.deepcopy(body)
    parse_event(body, body["instance"])
    assert body == before


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=30,
)
_FIELDS = st.sampled_from(["key", "message", "messageTimestamp", "pushName", "participant", "senderPn"])
_KEY_FIELDS = st.sampled_from(["remoteJid", "id", "fromMe", "participant", "participantAlt", "remoteJidAlt", "senderPn"])


@settings(max_examples=300, deadline=None)
@given(_JSON)
def test_any_json_is_a_message_or_a_skip(body: Any) -> None:
    assert isinstance(parse_event(body, "x"), InboundMessage | Skip)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_FIELDS, _JSON, max_size=3), st.dictionaries(_KEY_FIELDS, _JSON, max_size=4))
def test_any_mangled_upsert_is_a_message_or_a_skip(data: dict[str, Any], key: dict[str, Any]) -> None:
    body = _load("derived_v2_3_6_group_lid.json")
    body["data"].update(data)
    if isinstance(body["data"].get("key"), dict):
        body["data"]["key"].update(key)
    parsed = parse_event(body, body["instance"])
    assert isinstance(parsed, InboundMessage | Skip)
    if isinstance(parsed, InboundMessage):
        assert parsed.text.strip() and parsed.message_id and parsed.sender and parsed.chat_id
        assert all(isinstance(alt, str) for alt in parsed.sender_alternates)
