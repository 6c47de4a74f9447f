"""Event model: recorded Asterisk 22 events parse, and malformed input fails clearly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ari_app.events import Event, parse_event
from tests.swagger import swagger_dir

FIXTURES = Path(__file__).parent / "ari_events"
# Swagger files of the Asterisk build we target (see tests/swagger.py).
SWAGGER_DIR = swagger_dir()
CHANNEL_ID = "1763736012.42"


def load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))


ALL_FIXTURES = sorted(p.stem for p in FIXTURES.glob("*.json"))


def test_fixture_set_is_complete() -> None:
    assert set(ALL_FIXTURES) >= {
        "stasis_start",
        "channel_dtmf_received",
        "playback_started",
        "playback_finished",
        "channel_state_change",
        "channel_hangup_request",
        "stasis_end",
        "channel_destroyed",
    }


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_fixture_matches_swagger_model(name: str) -> None:
    """Fixtures carry every required property of their events.json model, and nothing unknown."""
    if not (SWAGGER_DIR / "events.json").exists():
        pytest.fail(f"Asterisk Swagger files not found in {SWAGGER_DIR}: run ./dev test")
    models: dict[str, Any] = {}
    for f in ("events.json", "channels.json", "playbacks.json", "bridges.json"):
        models.update(json.loads((SWAGGER_DIR / f).read_text())["models"])
    raw = load(name)

    def check(obj: dict[str, Any], model: str, where: str, inherited: dict[str, Any]) -> None:
        props: dict[str, Any] = models[model]["properties"] | inherited
        missing = [k for k, v in props.items() if v.get("required") and k not in obj]
        unknown = [k for k in obj if k not in props]
        assert not missing, f"{where}: missing required {missing}"
        assert not unknown, f"{where}: not in {model} model: {unknown}"
        for key, value in obj.items():
            ptype = props[key]["type"]
            if ptype in models and isinstance(value, dict):
                check(value, ptype, f"{where}.{key}", {})

    # Every event inherits Event's and Message's properties (application, timestamp, type...).
    check(raw, raw["type"], name, models["Event"]["properties"] | models["Message"]["properties"])
    if "channel" in raw:
        allowed = models["Channel"]["properties"]["state"]["allowableValues"]["values"]
        assert raw["channel"]["state"] in allowed


@pytest.mark.parametrize("name", ALL_FIXTURES)
def test_every_fixture_parses(name: str) -> None:
    raw = load(name)
    event = parse_event(json.dumps(raw))
    assert event.type == raw["type"]
    assert event.application == "stadtruf"
    assert event.timestamp == raw["timestamp"]
    assert event.raw == raw
    # Every event of this call flow belongs to the caller's channel, playbacks included.
    assert event.channel_id == CHANNEL_ID


def test_stasis_start() -> None:
    event = parse_event(load("stasis_start"))
    assert event.args == ("115", "de")
    assert event.digit is None
    assert event.bridge_id is None
    assert event.playback_id is None
    assert event.raw["channel"]["caller"]["number"] == "+4930901234567"


def test_dtmf() -> None:
    event = parse_event(load("channel_dtmf_received"))
    assert event.digit == "1"
    assert event.args == ()


def test_playback_events() -> None:
    started = parse_event(load("playback_started"))
    finished = parse_event(load("playback_finished"))
    assert started.playback_id == finished.playback_id == "a7c1e0f4-3b2d-4c5e-8f90-1a2b3c4d5e6f"
    assert finished.raw["playback"]["state"] == "done"
    assert finished.bridge_id is None


def test_playback_into_bridge_has_bridge_id_not_channel_id() -> None:
    raw = load("playback_started")
    raw["playback"]["target_uri"] = "bridge:warteschlange-115"
    event = parse_event(raw)
    assert event.bridge_id == "warteschlange-115"
    assert event.channel_id is None


def test_dial_uses_peer_channel() -> None:
    peer = load("stasis_start")["channel"] | {"id": "1763736020.43"}
    event = parse_event(
        {"type": "Dial", "application": "stadtruf", "peer": peer, "dialstatus": "RINGING"}
    )
    assert event.channel_id == "1763736020.43"


def test_bridge_event() -> None:
    event = parse_event(
        {
            "type": "ChannelEnteredBridge",
            "application": "stadtruf",
            "timestamp": "2025-11-21T15:40:20.000+0100",
            "bridge": {"id": "b-1", "channels": [CHANNEL_ID]},
            "channel": load("stasis_start")["channel"],
        }
    )
    assert event.bridge_id == "b-1"
    assert event.channel_id == CHANNEL_ID


def test_message_without_application_is_accepted() -> None:
    # MissingParams is a Message but not an Event: no application, no timestamp.
    event = parse_event('{"type": "MissingParams", "params": ["app"]}')
    assert event == Event("MissingParams", None, None, {"type": "MissingParams", "params": ["app"]})


def test_event_is_frozen_and_hashable() -> None:
    event = parse_event(load("stasis_end"))
    with pytest.raises(AttributeError):
        event.type = "StasisStart"  # type: ignore[misc]
    assert hash(event) == hash(parse_event(load("stasis_end")))
    assert "raw" not in repr(event)


def test_parse_copies_the_input_dict() -> None:
    raw = load("stasis_end")
    event = parse_event(raw)
    raw["type"] = "changed"
    assert event.raw["type"] == "StasisEnd"


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ("not json", "not valid JSON"),
        (b"\xff\xfe{", "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "must be a JSON object, got list"),
        ("null", "must be a JSON object"),
        ('{"application": "stadtruf"}', "no 'type'"),
        ('{"type": ""}', "no 'type'"),
        ('{"type": 7}', "no 'type'"),
        ('{"type": "StasisEnd", "application": 1}', "'application' must be a string"),
        ('{"type": "StasisEnd", "timestamp": []}', "'timestamp' must be a string"),
        ("[" * 100_000, "not valid JSON"),
    ],
)
def test_malformed_input_raises_value_error(data: str | bytes, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_event(data)


def test_error_message_excerpt_is_short() -> None:
    with pytest.raises(ValueError) as info:
        parse_event("x" * 10_000)
    assert len(str(info.value)) < 300


def test_wrongly_shaped_fields_give_none_not_crash() -> None:
    event = parse_event(
        {
            "type": "StasisStart",
            "channel": "1763736012.42",
            "args": "115",
            "playback": {"id": 5, "target_uri": "channel:"},
            "bridge": [],
        }
    )
    assert event.channel_id is None
    assert event.args == ()
    assert event.playback_id is None
    assert event.bridge_id is None


@settings(max_examples=50, deadline=None)
@given(st.text() | st.binary())
def test_parse_event_only_ever_raises_value_error(data: str | bytes) -> None:
    try:
        event = parse_event(data)
    except ValueError:
        return
    assert isinstance(event.type, str) and event.type


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=50, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(
            ["type", "channel", "peer", "playback", "digit", "args", "bridge", "application"]
        ),
        _json,
    )
)
def test_properties_never_raise_on_odd_shapes(data: dict[str, Any]) -> None:
    try:
        event = parse_event(data)
    except ValueError:
        return
    for prop in ("channel_id", "bridge_id", "playback_id", "digit"):
        value = getattr(event, prop)
        assert value is None or isinstance(value, str)
    assert all(isinstance(a, str) for a in event.args)
