"""Callers' personal data in log lines and at the agent (issue #13, docs/security.md).

- A withheld number (CLIR, CALLERID(pres) prohib…) still finds the town, but the call carries
  neither number nor name past the origin: not to the agent, the record or a callback.
- Log lines show a caller's number shortened to its area code unless the config says `full`,
  whichever key of our log events carries it; channel ids and other digit runs stay.
"""

from __future__ import annotations

import io
import json

import pytest
import structlog

from stadtruf import logging as stadtruf_logging
from stadtruf.config import ServiceCenterConfig, load_site
from stadtruf.core.callflow import Arrival, Queue, start, step
from stadtruf.core.lifecycle import Arrived, OriginDecided
from stadtruf.core.menu import DigitPressed
from stadtruf.core.privacy import is_withheld, redact_numbers, shortened
from stadtruf.paths import sample_config_dir

CLIR = Arrival("115", "02041123456", caller_name="Max Mustermann", withheld=True)


@pytest.fixture(scope="module")
def sample() -> ServiceCenterConfig:
    return load_site(sample_config_dir()).config


@pytest.mark.parametrize(
    ("pres", "withheld"),
    [
        ("prohib", True),
        ("prohib_passed_screen", True),
        ("PROHIB_NOT_SCREENED", True),
        ("unavailable", True),
        ("allowed_not_screened", False),
        ("allowed", False),
        ("", False),
        (None, False),
    ],
)
def test_presentation_withholds_the_number(pres: str | None, withheld: bool) -> None:
    assert is_withheld(pres) is withheld


def test_a_withheld_number_finds_the_town_but_goes_no_further(
    sample: ServiceCenterConfig,
) -> None:
    state, fx = start(sample, CLIR)
    events = [e.event for e in fx if hasattr(e, "event")]
    assert events[0] == Arrived("115", None, withheld=True)
    assert isinstance(events[1], OriginDecided) and events[1].client == "bottrop"
    assert state.arrival.caller is None and state.arrival.caller_name == ""
    assert "02041123456" not in repr(state) and "Mustermann" not in repr(state)
    # Through the menu into a queue: the hand-off carries no number and no name.
    queued: list[Queue] = []
    for digit in "2", "1":
        state, fx = step(state, DigitPressed(digit))
        queued += [e for e in fx if isinstance(e, Queue)]
    assert queued, "the menu ends in a queue"
    assert queued[0].caller_number == ""
    assert "Mustermann" not in queued[0].caller_id_name
    assert "02041123456" not in repr(queued[0])


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("02041123456", "02041…"),
        ("+49 2041 123456", "02041…"),
        ("0171 1234567", "0171…"),
        ("0031201234567", "0031…"),
        ("anonymous", "…"),
        ("12", "…"),
        (None, None),
        ("", ""),
        (True, True),
    ],
)
def test_numbers_in_log_events_are_shortened(value: object, shown: object) -> None:
    assert shortened(value, ["02041"]) == shown


def test_only_number_keys_are_shortened_and_full_leaves_them() -> None:
    event = {
        "event": "call.happened",
        "caller": "02041123456",
        "channel_id": "1795276604.12",
        "at": 1795276604.5,
        "request": {"number": "02041123456", "topic": "kfz"},
    }
    short = redact_numbers(dict(event), "area_code", ["02041"])
    assert short["caller"] == "02041…"
    assert short["channel_id"] == "1795276604.12" and short["at"] == 1795276604.5
    assert short["request"] == {"number": "02041…", "topic": "kfz"}
    assert redact_numbers(dict(event), "full") == event


def test_the_log_processor_follows_the_config() -> None:
    out = io.StringIO()
    try:
        stadtruf_logging.configure(json=True, file=out)
        log = structlog.get_logger("test")
        stadtruf_logging.set_privacy("area_code", ["02041"])
        log.info("call.callback_stored", number="02041123456")
        stadtruf_logging.set_privacy("full")
        log.info("call.callback_stored", number="02041123456")
    finally:
        stadtruf_logging.set_privacy("area_code")
        structlog.reset_defaults()
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [line["number"] for line in lines] == ["02041…", "02041123456"]
