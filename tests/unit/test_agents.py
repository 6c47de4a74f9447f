"""The agents file: the sample, settings layering, priorities, passwords, and problems with
their `file:line:col`, both inside the file and against the service center."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from stadtruf.config import ConfigError, load
from stadtruf.config.agents import (
    BUILTIN,
    Agent,
    AgentsConfig,
    OverflowCallback,
    OverflowQueue,
    QueueSettings,
    Skill,
)
from stadtruf.config.agents_load import check_agents, load_agents
from stadtruf.config.passwords import resolve_password

ROOT = Path(__file__).parents[2]
SAMPLE = ROOT / "config/agents/agents.yaml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agents.yaml"
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def problems(tmp_path: Path, text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_agents(write(tmp_path, text))
    return [f"{p.line}:{p.col}: {p.message}" for p in info.value.problems]


def test_sample_loads_and_fits_the_duisburg_config() -> None:
    agents = load_agents(SAMPLE)
    assert check_agents(agents, load(ROOT / "config")) == []
    assert [a.id for a in agents.agents] == ["agent-101", "agent-102", "agent-103", "agent-104"]
    kfz = agents.rules("kfz")
    assert (kfz.wrapup, kfz.max_wait, kfz.overflow) == (30, 300, OverflowQueue(queue="vermittlung"))
    assert kfz.ring_timeout == 15  # from defaults
    assert agents.rules("elterngeld").max_wait == 0
    assert agents.rules("pass").overflow == OverflowCallback(callback=True)
    assert agents.rules("vermittlung").strategy == "round_robin"


def test_builtin_values_without_any_settings() -> None:
    assert AgentsConfig().rules("kfz") == BUILTIN


@pytest.mark.parametrize(
    ("client", "dialled", "expected"),
    [
        ("bottrop", "switchboard", 5),
        ("wbd", "switchboard", 5),  # the first matching rule wins
        ("wbd", "service_number", 2),
        ("duisburg", "service_number", 0),
        ("duisburg", None, 0),
    ],
)
def test_priority_rules(client: str, dialled: str | None, expected: int) -> None:
    agents = load_agents(SAMPLE)
    assert agents.priority_for("kfz", client, dialled) == expected  # type: ignore[arg-type]


def test_skill_levels_and_wildcards() -> None:
    agent = load_agents(SAMPLE).by_id["agent-102"]
    assert agent.level_for("bottrop", "kfz") == 1
    assert agent.level_for("duisburg", "kfz") == 3
    specialist = load_agents(SAMPLE).by_id["agent-104"]
    assert specialist.level_for("duisburg", "kfz") is None


def test_password_from_environment_or_file(tmp_path: Path) -> None:
    agent = Agent.model_validate({"id": "agent-101", "name": "A", "skills": [{}]})
    assert agent.password_env == "STADTRUF_AGENT_AGENT_101_PASSWORD"
    assert resolve_password(agent, {"STADTRUF_AGENT_AGENT_101_PASSWORD": "s3cret"}) == "s3cret"
    assert resolve_password(agent, {}) is None
    (tmp_path / "pw").write_text("from-file\n", encoding="utf-8")
    filed = agent.model_copy(update={"password_file": "pw"})
    assert resolve_password(filed, {}, tmp_path) == "from-file"
    assert (
        resolve_password(filed.model_copy(update={"password_file": "gone"}), {}, tmp_path) is None
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            """
            agents:
              - id: agent-101
                name: A
                skills: [{topic: kfz, level: 11}]
            """,
            "4:34: agents.0.skills.0.level: darf höchstens 10 sein",
            id="level too high",
        ),
        pytest.param(
            """
            agents:
              - id: agent-101
                name: A
                skils: [{topic: kfz}]
            """,
            "4:5: unbekannter Schlüssel 'skils' (meinten Sie 'skills'?)",
            id="typo with hint",
        ),
        pytest.param(
            """
            agents:
              - {id: a1, name: A, skills: [{}]}
              - {id: a1, name: B, skills: [{}]}
            """,
            "3:10: Agent 'a1' gibt es schon (Eintrag 1)",
            id="duplicate id",
        ),
        pytest.param(
            """
            defaults:
              strategy: ringall
            """,
            "2:13: defaults.strategy: 'ringall' ist nicht erlaubt",
            id="unknown strategy",
        ),
        pytest.param(
            """
            defaults:
              max_wait: 60
            """,
            "2:3: max_wait braucht overflow",
            id="max_wait without overflow",
        ),
        pytest.param(
            """
            defaults:
              overflow: {mailbox: true}
            """,
            "2:13: defaults.overflow: erwartet eines von queue, transfer, callback: true, announce,"
            " voicemail: true",
            id="unknown overflow",
        ),
        pytest.param(
            """
            defaults:
              overflow: {voicemail: false}
            """,
            "2:13: defaults.overflow: voicemail: false ist kein overflow",
            id="voicemail false",
        ),
        pytest.param(
            """
            defaults:
              overflow: {voicemail: true, max_length: 2}
            """,
            "2:43: defaults.overflow.max_length: muss mindestens 5 sein",
            id="voicemail too short",
        ),
        pytest.param(
            """
            queues:
              kfz: {join_empty: false}
            """,
            "2:8: join_empty: false braucht overflow",
            id="join_empty without overflow",
        ),
        pytest.param(
            """
            queues:
              kfz: {leave_when_empty: true}
            """,
            "2:8: leave_when_empty: true braucht overflow",
            id="leave_when_empty without overflow",
        ),
        pytest.param(
            """
            queues:
              kfz: {join_empty: false, overflow: {queue: pass}}
              pass: {leave_when_empty: true, overflow: {queue: kfz}}
            """,
            "2:8: overflow im Kreis: kfz → pass → kfz",
            id="overflow loop when empty",
        ),
        pytest.param(
            """
            queues:
              kfz: {max_wait: 60, overflow: {queue: pass}}
              pass: {max_wait: 60, overflow: {queue: kfz}}
            """,
            "2:8: overflow im Kreis: kfz → pass → kfz",
            id="overflow loop",
        ),
        pytest.param(
            """
            defaults:
              priorities: [{priority: 3}]
            """,
            "2:16: defaults.priorities.0: Regel braucht client und/oder dialled",
            id="rule without condition",
        ),
        pytest.param(
            """
            agents:
              - {id: "agent 101", name: A, skills: [{}]}
            """,
            "2:10: agents.0.id: 'agent 101' taugt nicht als Agenten-id",
            id="bad id",
        ),
    ],
)
def test_problems_in_the_file(tmp_path: Path, text: str, expected: str) -> None:
    found = problems(tmp_path, text)
    assert any(p.startswith(expected) for p in found), found


def test_missing_and_broken_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nicht lesbar"):
        load_agents(tmp_path / "none.yaml")
    with pytest.raises(ConfigError, match="Schlüssel: Wert-Paare"):
        load_agents(write(tmp_path, "- a\n- b\n"))


def test_references_into_the_service_center(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        queues:
          kfz-neu: {wrapup: 5}
          kfz: {max_wait: 60, overflow: {queue: pas}}
        defaults:
          priorities: [{client: botrop, priority: 1}]
        agents:
          - id: agent-101
            name: A
            skills: [{client: duisbrug, topic: "*"}, {topic: kfzz}]
        """,
    )
    found = [
        str(p).split(":", 1)[1] for p in check_agents(load_agents(path), load(ROOT / "config"))
    ]
    assert "2:3: Thema 'kfz-neu' gibt es nicht (meinten Sie 'kfz'?)" in found
    assert "3:41: Thema 'pas' gibt es nicht (meinten Sie 'pass'?)" in found
    assert "5:25: Kunde 'botrop' gibt es nicht (meinten Sie 'bottrop'?)" in found
    assert "9:23: Kunde 'duisbrug' gibt es nicht (meinten Sie 'duisburg'?)" in found
    assert "9:54: Thema 'kfzz' gibt es nicht (meinten Sie 'kfz'?)" in found
    # No agent at all for the queued topics of these clients.
    assert any("kein Agent nimmt Thema 'kfz' für Kunde 'bottrop' an" in p for p in found)


def test_a_premium_overflow_target_is_refused(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
        queues:
          kfz: {overflow: {transfer: "0900 1234567"}}
        agents:
          - {id: agent-101, name: A, skills: [{topic: "*"}]}
        """,
    )
    found = [
        str(p).split(":", 1)[1] for p in check_agents(load_agents(path), load(ROOT / "config"))
    ]
    assert any(p.startswith("2:30: 09001234567 ist eine Sonderrufnummer") for p in found), found


def test_check_without_a_source_still_reports() -> None:
    agents = AgentsConfig.model_validate(
        {"agents": [{"id": "a1", "name": "A", "skills": [{"topic": "nope"}]}]}
    )
    found = check_agents(agents, load(ROOT / "config"))
    assert any("Thema 'nope' gibt es nicht" in p.message for p in found)


def test_a_copy_with_other_defaults_answers_with_its_own_rules() -> None:
    base = AgentsConfig.model_validate({"defaults": {"wrapup": 0}})
    assert base.rules("kfz").wrapup == 0  # fills the cache
    changed = base.model_copy(
        update={
            "defaults": QueueSettings(wrapup=6),
            "agents": (Agent(id="agent-9", name="Neu", skills=(Skill(topic="*"),)),),
        }
    )
    assert changed.rules("kfz").wrapup == 6
    assert set(changed.by_id) == {"agent-9"}
    assert base.rules("kfz").wrapup == 0
