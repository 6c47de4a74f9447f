"""Agents' log-in and pause kept across a restart: the saved view, the file, the adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ari_app.queue import CallDistributor
from stadtruf.config.agents import AgentsConfig
from stadtruf.core import queue as q
from stadtruf.store.agent_state import (
    AgentStateFile,
    SavedAgent,
    from_json,
    restore_events,
    saved_view,
    to_json,
)
from tests.support.fake_ari import FakeAri

AGENTS = AgentsConfig.model_validate(
    {
        "agents": [
            {"id": agent_id, "name": agent_id, "skills": [{"topic": "*"}]}
            for agent_id in ("agent-101", "agent-102", "agent-103")
        ]
    }
)


def engine(*events: q.Event) -> q.QueueState:
    state = q.new_queue(AGENTS)
    for event in events:
        state, _ = q.step(state, event)
    return state


def test_saved_view_keeps_only_what_the_agent_chose() -> None:
    state = engine(
        q.AgentLoggedIn("agent-101", now=1),
        q.AgentRegistered("agent-101", now=1),
        q.AgentLoggedIn("agent-102", now=1),
        q.AgentPaused("agent-102", "Mittag", now=2),
        q.AgentRegistered("agent-103", now=1),
    )
    assert saved_view(state) == {
        "agent-101": SavedAgent(True),
        "agent-102": SavedAgent(True, "Mittag"),
        "agent-103": SavedAgent(False),
    }


def test_restore_brings_a_fresh_queue_back() -> None:
    before = engine(
        q.AgentLoggedIn("agent-101", now=1),
        q.AgentLoggedIn("agent-102", now=1),
        q.AgentPaused("agent-102", "autopause", now=2),
    )
    saved = {**saved_view(before), "agent-999": SavedAgent(True)}  # gone from the agents file
    after = engine(*restore_events(saved, AGENTS, now=50))
    assert saved_view(after) == saved_view(before)


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=10),
        st.builds(SavedAgent, st.booleans(), st.none() | st.text(max_size=40)),
        max_size=5,
    )
)
def test_json_round_trip(view: dict[str, SavedAgent]) -> None:
    assert from_json(to_json(view)) == view


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not JSON"),
        ("[]", "version 1"),
        ('{"version": 2, "agents": {}}', "version 1"),
        ('{"version": 1, "agents": []}', "'agents' must be an object"),
        ('{"version": 1, "agents": {"a": {"logged_in": "yes"}}}', "logged_in"),
        ('{"version": 1, "agents": {"a": {"logged_in": true, "paused": 5}}}', "paused"),
    ],
)
def test_bad_files_are_refused(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        from_json(text)


def test_file_round_trip_and_unreadable_files(tmp_path: Path) -> None:
    store = AgentStateFile(tmp_path / "run" / "agent-state.json")
    assert store.load() == {}
    store.save({"agent-101": SavedAgent(True, "Schulung")})
    assert store.load() == {"agent-101": SavedAgent(True, "Schulung")}
    assert [p.name for p in store.path.parent.iterdir()] == ["agent-state.json"]  # no temp left
    store.path.write_text("{cut off", encoding="utf-8")
    assert store.load() == {}  # everyone logged out, as without the file; logged as a warning


def reported(queue: CallDistributor) -> list[q.Event]:
    """The events waiting for the worker, left in place."""
    inbox = queue.shared.inbox
    items = [inbox.get_nowait() for _ in range(inbox.qsize())]
    for item in items:
        inbox.put_nowait(item)
    return [event for event, _ in items]


async def test_the_queue_restores_first_and_saves_every_change(tmp_path: Path) -> None:
    store = AgentStateFile(tmp_path / "agent-state.json")
    store.save({"agent-102": SavedAgent(True, "Mittag")})
    queue = CallDistributor(AGENTS, app_name="stadtruf", agent_state=store, clock=lambda: 7.0)
    assert reported(queue) == [
        q.AgentLoggedIn("agent-102", now=7.0),
        q.AgentPaused("agent-102", "Mittag", now=7.0),
    ]
    await queue.connected(FakeAri())  # starts the worker
    try:
        await queue.login("agent-101")
        assert json.loads(store.path.read_text())["agents"]["agent-101"]["logged_in"] is True
        await queue.ready("agent-102")
        await queue.logout("agent-101")
        assert store.load() == {
            "agent-101": SavedAgent(False),
            "agent-102": SavedAgent(True),
            "agent-103": SavedAgent(False),
        }
    finally:
        await queue.close()
