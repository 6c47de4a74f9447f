"""Marking a call: channel variables, caller-ID name prefix, ASCII-safe SIP headers."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from stadtruf.config import Client, Topic
from stadtruf.core.annotation import CALLER_NAME_MAX, annotate, ascii_header_value, header_variable

BOTTROP = Client.model_validate(
    {
        "id": "bottrop",
        "name": "Bottrop",
        "tag": "BOT",
        "state": "NW",
        "menu": {"menus": {"main": {"prompt": "Hallo"}}},
    }
)
MUELHEIM = BOTTROP.model_copy(update={"id": "muelheim", "name": "Mülheim an der Ruhr", "tag": "MH"})
KFZ = Topic(name="Kfz")
STRASSE = Topic(name="Straßenreinigung")


def test_bottrop_kfz() -> None:
    marks = annotate(BOTTROP, KFZ, "Max Mustermann", topic_id="kfz")
    assert marks.caller_id_name == "[BOT] Kfz · Max Mustermann"
    assert marks.channel_variables == {
        "STADTRUF_CLIENT": "bottrop",
        "STADTRUF_CLIENT_NAME": "Bottrop",
        "STADTRUF_CLIENT_TAG": "BOT",
        "STADTRUF_TOPIC": "kfz",
        "STADTRUF_TOPIC_NAME": "Kfz",
    }
    assert marks.sip_headers["X-Origin-City"] == "Bottrop"
    assert marks.sip_headers["X-Topic"] == "kfz"


def test_without_topic_or_name() -> None:
    marks = annotate(BOTTROP)
    assert marks.caller_id_name == "[BOT]"
    assert "X-Topic" not in marks.sip_headers
    assert "STADTRUF_TOPIC" not in marks.channel_variables


def test_umlauts_are_transliterated_in_headers_only() -> None:
    marks = annotate(MUELHEIM, STRASSE, None, topic_id="strassenreinigung")
    assert marks.sip_headers["X-Origin-City"] == "Muelheim an der Ruhr"
    assert marks.sip_headers["X-Topic-Name"] == "Strassenreinigung"
    assert marks.caller_id_name == "[MH] Straßenreinigung"  # phones show UTF-8 names
    assert ascii_header_value("Café Öffnungszeiten") == "Cafe Oeffnungszeiten"


def test_no_header_injection() -> None:
    evil = "Max\r\nX-Evil: 1\x00"
    marks = annotate(BOTTROP, Topic(name="Kfz\r\nVia: x"), evil, topic_id="kfz")
    for value in (*marks.sip_headers.values(), *marks.channel_variables.values()):
        assert "\r" not in value and "\n" not in value and "\x00" not in value
    assert "\n" not in marks.caller_id_name


def test_annotating_again_replaces_the_prefix() -> None:
    first = annotate(BOTTROP, KFZ, "Max Mustermann", topic_id="kfz")
    second = annotate(BOTTROP, Topic(name="Abfall"), first.caller_id_name, topic_id="abfall")
    assert second.caller_id_name == "[BOT] Abfall · Max Mustermann"
    bare = annotate(BOTTROP, KFZ, annotate(BOTTROP).caller_id_name)
    assert bare.caller_id_name == "[BOT] Kfz"


def test_other_language_is_shown() -> None:
    assert annotate(BOTTROP, KFZ, None, language="en").caller_id_name == "[BOT] Kfz (EN)"
    assert annotate(BOTTROP, KFZ, None, language="de").caller_id_name == "[BOT] Kfz"


def test_long_names_are_cut_but_the_prefix_stays() -> None:
    marks = annotate(BOTTROP, KFZ, "Maximilian Alexander von und zu Mustermann-Schmidt")
    assert len(marks.caller_id_name) <= CALLER_NAME_MAX
    assert marks.caller_id_name.startswith("[BOT] Kfz · Maximilian")


@given(name=st.text(), topic=st.text(min_size=1, max_size=24))
def test_headers_are_always_printable_ascii_one_line(name: str, topic: str) -> None:
    marks = annotate(MUELHEIM, Topic(name=topic), name, topic_id="x")
    for value in marks.sip_headers.values():
        assert value.isascii() and all(32 <= ord(c) < 127 for c in value)
    for value in (marks.caller_id_name, *marks.channel_variables.values()):
        assert not any(c in value for c in "\r\n\x00")


def test_header_variable_is_the_name_the_transfer_dialplan_reads() -> None:
    dialplan = (Path(__file__).parents[2] / "dialplan" / "stadtruf.conf").read_text()
    for header in ("X-Origin-City", "X-Origin-Client", "X-Topic", "X-Topic-Name"):
        variable = header_variable(header)
        assert variable.startswith("__")  # inherited by the outgoing leg
        assert "${" + variable.removeprefix("__") + "}" in dialplan
