"""Fail-open: whom the dialplan may ring without the app, and how the app mirrors it.

The rule (`stadtruf.core.fallback`), the mirror's writes (`ari_app.queue.mirror`) and the queue
adapter's hook: each login, logout, pause, ready and each (re)connect reaches Asterisk.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ari_app.errors import AriUnavailable
from ari_app.queue import CallDistributor
from ari_app.queue.mirror import AgentMirror
from stadtruf.config.agents import AgentsConfig
from stadtruf.core import queue as q
from stadtruf.core.fallback import (
    NOT_READY,
    READY,
    may_ring_in_fallback,
    mirror,
    mirror_changes,
    mirror_device,
    phone_device,
)
from stadtruf.core.queue_state import Activity, AgentState
from tests.support.fake_ari import FakeAri

AGENTS = AgentsConfig.model_validate(
    {
        "agents": [
            {"id": "agent-101", "name": "Anna", "skills": [{"topic": "*"}]},
            {"id": "agent-102", "name": "Nils", "skills": [{"topic": "*"}]},
        ]
    }
)
A101, A102 = mirror_device("agent-101"), mirror_device("agent-102")


@pytest.mark.parametrize(
    ("agent", "rung"),
    [
        (AgentState("a"), False),  # logged out
        (AgentState("a", logged_in=True), True),
        (AgentState("a", logged_in=True, paused="Pause"), False),
        (AgentState("a", logged_in=True, paused="autopause"), False),
        (AgentState("a", paused="Pause"), False),
        # The app's view of the phone does not count: Asterisk checks it live at the call.
        (AgentState("a", logged_in=True, registered=False), True),
        (AgentState("a", logged_in=True, activity=Activity.BUSY, call="c1"), True),
        (AgentState("a", logged_in=True, activity=Activity.WRAPUP), True),
        # A pause taken during a call applies at once: no fallback call after it.
        (AgentState("a", logged_in=True, paused="Pause", activity=Activity.BUSY), False),
    ],
)  # fmt: skip
def test_who_may_be_rung_in_fallback(agent: AgentState, rung: bool) -> None:
    assert may_ring_in_fallback(agent) is rung


def test_device_names() -> None:
    assert mirror_device("agent-101") == "Stasis:stadtruf-agent-101"
    assert phone_device("agent-101") == "PJSIP/agent-101"


def test_the_mirror_of_a_queue_state() -> None:
    state = q.new_queue(AGENTS, 0.0)
    assert mirror(state) == {A101: NOT_READY, A102: NOT_READY}
    state, _ = q.step(state, q.AgentLoggedIn("agent-101", now=1.0))
    assert mirror(state) == {A101: READY, A102: NOT_READY}
    state, _ = q.step(state, q.AgentPaused("agent-101", "Pause", now=2.0))
    assert mirror(state)[A101] == NOT_READY
    state, _ = q.step(state, q.AgentReady("agent-101", now=3.0))
    assert mirror(state)[A101] == READY
    state, _ = q.step(state, q.AgentLoggedOut("agent-101", now=4.0))
    assert mirror(state)[A101] == NOT_READY


@pytest.mark.parametrize(
    ("written", "wanted", "changes"),
    [
        (None, {A101: READY}, {A101: READY}),  # after a connect: everything
        ({A101: READY}, {A101: READY}, {}),
        ({A101: READY}, {A101: NOT_READY}, {A101: NOT_READY}),
        ({}, {A101: READY}, {A101: READY}),
        ({A101: READY, A102: READY}, {A101: READY}, {A102: NOT_READY}),  # removed agent
        ({A102: NOT_READY}, {A101: READY}, {A101: READY}),  # removed, already not ready
    ],
)  # fmt: skip
def test_mirror_changes(
    written: dict[str, str] | None, wanted: dict[str, str], changes: dict[str, str]
) -> None:
    assert mirror_changes(written, wanted) == changes


_devices = st.sampled_from([A101, A102, mirror_device("agent-103")])
_states = st.dictionaries(_devices, st.sampled_from([READY, NOT_READY]))


@given(written=st.none() | _states, wanted=_states)
def test_after_the_changes_asterisk_shows_what_is_wanted(
    written: Mapping[str, str] | None, wanted: Mapping[str, str]
) -> None:
    shown = {**(written or {}), **mirror_changes(written, wanted)}
    for device, value in shown.items():
        assert value == wanted.get(device, NOT_READY)
    assert set(wanted) <= set(shown)


# --- the adapter ------------------------------------------------------------------------------


def written(fake: FakeAri) -> list[tuple[str, str]]:
    return [(c["device"], c["state"]) for c in fake.calls("set_device_state")]


async def test_the_mirror_writes_only_what_changed_and_everything_after_forget() -> None:
    fake, agent_mirror = FakeAri(), AgentMirror()
    state = q.new_queue(AGENTS, 0.0)
    await agent_mirror.update(fake, state)
    assert written(fake) == [(A101, NOT_READY), (A102, NOT_READY)]
    state, _ = q.step(state, q.AgentLoggedIn("agent-101", now=1.0))
    await agent_mirror.update(fake, state)
    await agent_mirror.update(fake, state)
    assert written(fake)[2:] == [(A101, READY)]
    agent_mirror.forget()
    await agent_mirror.update(fake, state)
    assert written(fake)[3:] == [(A101, READY), (A102, NOT_READY)]


async def test_a_failed_write_is_retried_with_the_next_update() -> None:
    fake, agent_mirror = FakeAri(), AgentMirror()
    state, _ = q.step(q.new_queue(AGENTS, 0.0), q.AgentLoggedIn("agent-101", now=1.0))
    fake.failures["set_device_state"] = AriUnavailable(None, "PUT", "/deviceStates", "refused")
    await agent_mirror.update(fake, state)  # logged, not raised: the queue goes on
    del fake.failures["set_device_state"]
    await agent_mirror.update(fake, state)
    assert written(fake)[2:] == [(A101, READY), (A102, NOT_READY)]


async def test_the_queue_mirrors_each_agent_change_and_each_connect() -> None:
    fake = FakeAri()
    fake.answers["get_endpoint"] = {"state": "online", "channel_ids": []}
    queue = CallDistributor(AGENTS, app_name="stadtruf", clock=lambda: 100.0)
    try:
        await queue.connected(fake)
        assert written(fake) == [(A101, NOT_READY), (A102, NOT_READY)]
        await queue.login("agent-101")
        assert written(fake)[2:] == [(A101, READY)]
        await queue.login("agent-102")
        await queue.pause("agent-102", "Mittag")
        await queue.logout("agent-101")
        assert written(fake)[3:] == [(A102, READY), (A102, NOT_READY), (A101, NOT_READY)]
        await queue.ready("agent-102")
        await queue.connected(fake)  # a reconnect: Asterisk may have restarted
        assert written(fake)[6:] == [(A102, READY), (A101, NOT_READY), (A102, READY)]
    finally:
        await queue.close()
