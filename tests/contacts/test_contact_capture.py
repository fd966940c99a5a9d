"""Contact capture rules: who counts as a contact, and under which phone number."""

from __future__ import annotations

from typing import Any

import pytest

from wa_gateway.contacts import (
    contact_from_message,
    contacts_from_history,
    new_contacts_payload,
    phone_of_jid,
)

OWN = "60111111111"


def message(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "3EB0ABC",
        "from": "60123456789@s.whatsapp.net",
        "chat": "60123456789@s.whatsapp.net",
        "pushName": "Ann",
        "text": "hi",
        "type": "text",
        "timestamp": 1_700_000_000.0,
        "isGroup": False,
        "fromMe": False,
        "senderPhone": "",
    }
    base.update(overrides)
    return base


def test_a_one_to_one_message_is_a_contact() -> None:
    assert contact_from_message(message(), {OWN}) == ("60123456789", "Ann", "message")


def test_an_empty_push_name_is_kept_empty() -> None:
    assert contact_from_message(message(pushName=""), {OWN}) == ("60123456789", "", "message")
    assert contact_from_message(message(pushName=None), {OWN}) == ("60123456789", "", "message")


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"fromMe": True}, id="from-me"),
        pytest.param(
            {"chat": "120363000000000000@g.us", "isGroup": True}, id="group-participant-by-flag-and-chat"
        ),
        pytest.param({"chat": "120363000000000000@g.us"}, id="group-chat-without-flag"),
        pytest.param({"isGroup": True}, id="group-flag"),
        pytest.param({"chat": "status@broadcast"}, id="status-update"),
        pytest.param({"from": "status@broadcast", "chat": "status@broadcast"}, id="status-sender"),
        pytest.param({"chat": "1700000000@broadcast"}, id="broadcast-list"),
        pytest.param({"from": "120363111111111111@newsletter"}, id="newsletter-sender"),
        pytest.param({"chat": "120363111111111111@newsletter"}, id="newsletter-chat"),
        pytest.param({"from": f"{OWN}@s.whatsapp.net", "chat": f"{OWN}@s.whatsapp.net"}, id="own-number"),
        pytest.param({"from": f"{OWN}:3@s.whatsapp.net"}, id="own-number-other-device"),
        pytest.param({"from": "987654321012345@lid", "senderPhone": ""}, id="lid-without-phone"),
        pytest.param({"from": "987654321012345@lid", "senderPhone": OWN}, id="lid-that-is-us"),
        pytest.param({"from": "", "senderPhone": ""}, id="no-sender"),
        pytest.param({"from": "60123456789@bot"}, id="unknown-server"),
        pytest.param({"from": "abc@s.whatsapp.net"}, id="user-not-digits"),
        pytest.param({"from": "١٢٣٤٥٦٧٨٩@s.whatsapp.net"}, id="non-ascii-digits"),
        pytest.param({"from": "1234567890123456@s.whatsapp.net"}, id="longer-than-e164"),
    ],
)
def test_senders_that_are_not_contacts_are_skipped(overrides: dict[str, Any]) -> None:
    assert contact_from_message(message(**overrides), {OWN}) is None


def test_a_lid_sender_is_stored_under_its_phone_number() -> None:
    found = contact_from_message(message(**{"from": "987654321012345@lid"}, senderPhone="60198765432"), {OWN})
    assert found == ("60198765432", "Ann", "message")


def test_sender_phone_must_be_digits_to_be_trusted() -> None:
    lid = message(**{"from": "987654321012345@lid"}, senderPhone="+60 19-876")
    assert contact_from_message(lid, {OWN}) is None
    # With a phone JID the JID itself is the answer.
    pn = message(senderPhone="not a phone")
    assert contact_from_message(pn, {OWN}) == ("60123456789", "Ann", "message")


def test_the_device_suffix_is_dropped() -> None:
    found = contact_from_message(message(**{"from": "60123456789:12@s.whatsapp.net"}), {OWN})
    assert found == ("60123456789", "Ann", "message")
    assert phone_of_jid("60123456789.0:12@s.whatsapp.net") == "60123456789"
    assert phone_of_jid("60123456789@c.us") == "60123456789"


def test_phone_of_jid_refuses_everything_but_phone_jids() -> None:
    for jid in ["987654321012345@lid", "120363000000000000@g.us", "status@broadcast", "60123456789", ""]:
        assert phone_of_jid(jid) is None


def test_without_own_phones_only_the_other_rules_apply() -> None:
    mine = message(**{"from": f"{OWN}@s.whatsapp.net"})
    assert contact_from_message(mine) == (OWN, "Ann", "message")


def test_history_keeps_one_to_one_chats_and_their_names() -> None:
    batch = {
        "contacts": [
            {"phone": "60123456789", "name": "Ann"},
            {"phone": "60198765432", "name": ""},
            {"phone": OWN, "name": "me"},
            {"phone": "60123456789", "name": ""},
            {"phone": "60155555555@s.whatsapp.net", "name": "Cat"},
            {"phone": "60166666666:4@s.whatsapp.net", "name": "Dan"},
            {"phone": "987654321012345@lid", "name": "Lid"},
            {"phone": "120363000000000000@g.us", "name": "Group"},
            {"phone": "status@broadcast", "name": ""},
            {"phone": "+60 12", "name": "junk"},
            {"phone": 60177777777, "name": "not a string"},
            {"name": "no phone"},
            "not an object",
        ]
    }
    assert contacts_from_history(batch, {OWN}) == [
        ("60123456789", "Ann", "history"),
        ("60198765432", "", "history"),
        ("60155555555", "Cat", "history"),
        ("60166666666", "Dan", "history"),
    ]


def test_history_keeps_the_last_non_empty_name_for_a_repeated_phone() -> None:
    batch = {"contacts": [{"phone": "111", "name": "A"}, {"phone": "111", "name": "B"}, {"phone": "111"}]}
    assert contacts_from_history(batch) == [("111", "B", "history")]


def test_a_malformed_history_batch_gives_nothing() -> None:
    assert contacts_from_history({}) == []
    assert contacts_from_history({"contacts": None}) == []
    assert contacts_from_history({"contacts": {"phone": "111"}}) == []


def test_new_contacts_payload_lists_only_new_phones_with_their_names() -> None:
    rows = [
        ("111", "Ann", "history"),
        ("222", "", "history"),
        ("333", "Cy", "history"),
        ("222", "Bo", "history"),
    ]
    assert new_contacts_payload(rows, ["222", "333"]) == [
        {"name": "Bo", "phone": "222"},
        {"name": "Cy", "phone": "333"},
    ]
    assert new_contacts_payload(rows, []) == []
