"""stadtruf-numbers.conf rendered from the config: the numbers in, the allow-lists out."""

from __future__ import annotations

import pytest

from stadtruf.asterisk.dialplan import (
    AGENT_TARGETS,
    AGENT_TRANSFER_TARGETS,
    TRANSFER_TARGETS,
    numbers_conf,
    render_allow_list,
    render_numbers_conf,
    render_numbers_context,
)
from stadtruf.config import load
from stadtruf.config.site import load_site
from stadtruf.core.numbers import carrier_forms
from stadtruf.core.outbound import OutboundPolicy
from stadtruf.paths import sample_config_dir


def _extensions(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("exten")]


@pytest.mark.parametrize(
    ("numbers", "expected"),
    [
        (["115"], ["115"]),
        (["02041700"], ["02041700", "+492041700", "00492041700", "492041700"]),
        # a service number other than 115 is routed in every carrier form too (defect 2)
        (["115", "08001150000"], ["115", "08001150000", "+498001150000", "00498001150000",
                                  "498001150000"]),
        # listed once, shortest first
        (["02041700", "115", "02041700"], ["115", "02041700", "+492041700", "00492041700",
                                           "492041700"]),
    ],
)  # fmt: skip
def test_numbers_context(numbers: list[str], expected: list[str]) -> None:
    text = render_numbers_context(numbers)
    assert text.splitlines()[0] == "[stadtruf-numbers]"
    assert _extensions(text) == [
        f"exten => {n},1,Goto(stadtruf-entry,${{EXTEN}},1)" for n in expected
    ]


@pytest.mark.parametrize(
    ("names", "numbers", "agents", "expected"),
    [
        (TRANSFER_TARGETS, ["0204170350"], ["agent-101"],  # no internal door: agents left out
         ["exten => 0204170350,1,Goto(stadtruf-transfer-out,${EXTEN},1)"]),
        (AGENT_TARGETS, ["0204170350", "02812070"], ["agent-102"],
         ["exten => 0204170350,1,Goto(stadtruf-agent-out,${EXTEN},1)",
          "exten => 02812070,1,Goto(stadtruf-agent-out,${EXTEN},1)",
          "exten => agent-102,1,Goto(stadtruf-agent-internal,${EXTEN},1)"]),
        (AGENT_TRANSFER_TARGETS, [], ["agent-101"],
         ["exten => agent-101,1,Goto(stadtruf-agent-transfer-internal,${EXTEN},1)"]),
        (AGENT_TARGETS, [], [], []),  # nothing configured: everything is refused
    ],
)  # fmt: skip
def test_allow_list(
    names: tuple[str, str, str | None], numbers: list[str], agents: list[str], expected: list[str]
) -> None:
    text = render_allow_list(names, numbers, agents)
    assert text.splitlines()[0] == f"[{names[0]}]"
    assert _extensions(text) == expected


def test_allow_lists_come_from_the_policy() -> None:
    policy = OutboundPolicy(
        transfer_numbers=("0204170350",), agent_numbers=("0204170350", "02032830"), agents=("a-1",)
    )
    text = render_numbers_conf(["115"], policy)
    contexts = _contexts(text)
    assert contexts["stadtruf-transfer-targets"] == ["0204170350"]
    assert contexts["stadtruf-agent-targets"] == ["02032830", "0204170350", "a-1"]
    assert contexts["stadtruf-agent-transfer-targets"] == ["02032830", "0204170350", "a-1"]


def _contexts(text: str) -> dict[str, list[str]]:
    """context → its extensions' names."""
    out: dict[str, list[str]] = {}
    current = ""
    for line in text.splitlines():
        if line.startswith("["):
            current = line.strip("[]")
            out[current] = []
        elif line.startswith("exten => "):
            out[current].append(line.removeprefix("exten => ").split(",", 1)[0])
    return out


def test_sample_config() -> None:
    config = load(sample_config_dir())
    text = numbers_conf(config, load_site(sample_config_dir()).agents)
    contexts = _contexts(text)
    # Every routed number – 115, the 0800 service number, every switchboard – in every form.
    routed = contexts["stadtruf-numbers"]
    assert "08001150000" in config.service_center.service_numbers
    for number in (*config.service_center.service_numbers, *config.switchboards):
        assert set(carrier_forms(number)) <= set(routed), number
    assert len(routed) == len(set(routed)), "an extension is listed twice"
    # Menu transfer targets and the queue overflow's target; agents also reach offices, agents.
    assert contexts["stadtruf-transfer-targets"] == [
        "020360040", "0204170350", "0206460500", "02812070"
    ]  # fmt: skip
    agent_targets = contexts["stadtruf-agent-targets"]
    assert "02032830" in agent_targets and "agent-102" in agent_targets
    for refused in ("0044123456789", "09001234567", "01371234567", "01801234567"):
        assert not any(refused in ctx for ctx in contexts.values())
