"""Hostile input never crashes anything and leaves no trace in the wrong place (issue #13).

One corpus of what attackers and broken carriers send (dialplan expressions, quotes, CR/LF,
NUL, 1,000 characters, non-UTF-8 bytes as Asterisk hands them on, malformed URIs), through:

- the call flow from arrival to its route, with a DTMF flood: no exception, every call ends
  in a defined route (queue, transfer or hangup), the state stays bounded, and every value
  that goes to Asterisk (channel variables, the caller-ID name the agent sees, SIP headers)
  is one clean line: no control characters, no CR/LF, headers printable ASCII;
- a log line: one JSON line, the caller's number shortened;
- a reload of YAML that is invalid, binary, an alias bomb or huge: refused, the old config
  stays live;
- the agent API: bad JSON, wrong types, huge bodies and odd paths get 4xx, never 500.
"""

from __future__ import annotations

import io
import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import structlog

from stadtruf import logging as stadtruf_logging
from stadtruf.config import ServiceCenterConfig, load_site
from stadtruf.core.callflow import Arrival, Hangup, Queue, SetVariable, Transfer, start, step
from stadtruf.core.menu import DigitPressed, DigitTimeout, PromptFinished
from stadtruf.paths import sample_config_dir
from stadtruf.service import LiveConfig
from tests.unit.test_agent_api import SUPERVISOR_AUTH, Api, api  # noqa: F401 - fixture

NON_UTF8 = b"Max \xff\xfe M\xfcller".decode("utf-8", errors="surrogateescape")
HOSTILE = [
    "${SHELL(rm -rf /)}",
    "$[1+1]",
    '"; Hangup()',
    "Max\r\nX-Injected: yes",
    "Max\x00Null",
    "\u2028Zeile\u2029",
    "A" * 1000,
    NON_UTF8,
    b"\xc3\x28 broken".decode("latin-1"),
    "<sip:+4920312345@evil;user=phone>",
    '"Evil" <sip:${EXTEN}@x>',
    "anonymous",
    "",
    "0" * 1000,
    "+49 (0) 203 / 12-34",
    "sip:;;;@@@",
    "tel:+",
    "\t \n",
    "👮 Polizei",
]
DIGITS = "0123456789*#"


@pytest.fixture(scope="module")
def sample() -> ServiceCenterConfig:
    return load_site(sample_config_dir()).config


def clean_line(value: str) -> bool:
    return not any(ord(c) < 32 or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029" for c in value)


def run_call(config: ServiceCenterConfig, arrival: Arrival, digits: str) -> list[object]:
    """The call from arrival through `digits` (a flood), prompts ending and timeouts between."""
    state, effects = start(config, arrival)
    seen: list[object] = list(effects)
    for i, digit in zip(range(2000), itertools.cycle(digits), strict=False):
        if state.done:
            break
        for event in (DigitPressed(digit), PromptFinished(i), DigitTimeout(0)):
            state, effects = step(state, event)
            seen += effects
        assert len(repr(state)) < 100_000, "a call's state grows with the input"
    assert state.done, "the flood ended in no route"
    return seen


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
@pytest.mark.parametrize("digits", ["9", "*#", DIGITS, "5"])
def test_hostile_caller_ids_end_in_a_route_with_clean_values(
    sample: ServiceCenterConfig, value: str, digits: str
) -> None:
    arrival = Arrival("115", value, diversion=value, caller_name=value)
    seen = run_call(sample, arrival, digits)
    routes = [e for e in seen if isinstance(e, Queue | Transfer | Hangup)]
    assert len(routes) == 1, routes
    for effect in seen:
        if isinstance(effect, SetVariable):
            assert clean_line(effect.value), effect
            assert len(effect.value) <= 1000, effect.name
        if isinstance(effect, Queue):
            assert clean_line(effect.caller_id_name) and len(effect.caller_id_name) <= 40
            for header, text in effect.sip_headers.items():
                assert text.isascii() and text.isprintable(), (header, text)


def test_a_log_line_stays_one_line_with_the_number_shortened() -> None:
    out = io.StringIO()
    try:
        stadtruf_logging.configure(json=True, file=out)
        log = structlog.get_logger("test")
        for value in HOSTILE:
            log.info("call.happened", caller=value, caller_name=value)
        log.info("call.happened", caller="02041123456\r\nX: y")
    finally:
        structlog.reset_defaults()
    lines = out.getvalue().splitlines()
    assert len(lines) == len(HOSTILE) + 1
    for line in lines:
        json.loads(line)  # every line whole
    assert "123456" not in lines[-1]


YAML_ATTACKS = {
    "syntax": "name: [unclosed\n",
    "binary": "\x00\x01\x02\xff",
    "alias bomb": (
        "a: &a [x, x, x, x, x, x, x, x, x]\n"
        "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
        "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
        "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
        "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
        "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
        "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
    ),
    "python tag": "name: !!python/object/apply:os.system ['id']\n",
    "huge": "name: " + "x" * 2_000_000 + "\n",
    "wrong types": "id: [1, 2]\nname: {a: b}\narea_codes: 17\n",
}


@pytest.mark.parametrize("text", YAML_ATTACKS.values(), ids=YAML_ATTACKS.keys())
def test_invalid_yaml_on_reload_is_refused_and_the_old_config_stays(
    tmp_path: Path, sample: ServiceCenterConfig, text: str
) -> None:
    directory = tmp_path / "config"
    directory.mkdir()
    for path in sample_config_dir().glob("*.yaml"):
        (directory / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    live = LiveConfig(directory, sample)
    (directory / "bottrop.yaml").write_text(text, encoding="utf-8", errors="surrogateescape")
    assert live.reload() is False
    assert live.current is sample


API_ATTACKS: list[tuple[str, str, dict[str, Any]]] = [
    ("POST", "/agents/agent-101/pause", {"data": b'{"reason": '}),
    ("POST", "/agents/agent-101/pause", {"data": b"\xff\xfe\x00"}),
    ("POST", "/agents/agent-101/pause", {"json": {"reason": 17}}),
    ("POST", "/agents/agent-101/pause", {"json": {"reason": None}}),
    ("POST", "/agents/agent-101/pause", {"json": {"reason": ["a"]}}),
    ("POST", "/agents/agent-101/pause", {"json": 1e308}),
    ("POST", "/agents/agent-101/pause", {"data": b"[" * 100_000}),
    ("POST", "/agents/agent-101/pause", {"data": b"x" * 5_000_000}),
    ("POST", "/callbacks/x/done", {"data": b"\x00"}),
    ("POST", "/callbacks/..%2F..%2Fetc%2Fpasswd/done", {}),
    ("GET", "/callbacks/%00/recording", {}),
    ("GET", "/callbacks?status=%FF%FE", {}),
    ("GET", "/callbacks?status=" + "x" * 5000, {}),
    ("GET", "/agents/" + "a" * 5000, {}),
    ("GET", "/agents/${SHELL(id)}", {}),
]


@pytest.mark.parametrize(("method", "path", "kwargs"), API_ATTACKS, ids=range(len(API_ATTACKS)))
async def test_the_api_answers_hostile_requests_with_4xx(
    api: Api,  # noqa: F811 - the fixture
    method: str,
    path: str,
    kwargs: dict[str, Any],
) -> None:
    status, _body, _ = await api.call(method, path, SUPERVISOR_AUTH, **kwargs)
    assert 400 <= status < 500, (status, _body)
