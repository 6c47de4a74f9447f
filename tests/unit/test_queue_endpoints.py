"""The agents' phones as the engine learns them: what keeps a phone from ringing comes first."""

from __future__ import annotations

from types import SimpleNamespace
from typing import cast

from ari_app.queue.endpoints import Endpoints
from ari_app.queue.shared import Shared
from stadtruf.core import queue as q


def endpoints() -> tuple[Endpoints, list[q.Event]]:
    reported: list[q.Event] = []
    shared = SimpleNamespace(
        config=SimpleNamespace(by_id={"agent-101": object()}),
        clock=lambda: 100.0,
        report=reported.append,
    )
    return Endpoints(cast(Shared, shared)), reported


def test_a_phone_found_registered_and_busy_is_busy_before_it_is_registered() -> None:
    # After a restart an agent still talking: the engine, which may ring at every step, must
    # never see the phone registered and free in between.
    phones, reported = endpoints()
    phones.update("agent-101", {"state": "online", "channel_ids": ["1796395139.1"]})
    assert [type(e) for e in reported] == [q.DeviceBusy, q.AgentRegistered]


def test_a_phone_going_offline_and_free_is_unregistered_before_it_is_free() -> None:
    phones, reported = endpoints()
    phones.update("agent-101", {"state": "online", "channel_ids": ["1796395139.1"]})
    reported.clear()
    phones.update("agent-101", {"state": "offline", "channel_ids": []})
    assert [type(e) for e in reported] == [q.AgentUnregistered, q.DeviceFree]


def test_only_changes_are_reported() -> None:
    phones, reported = endpoints()
    phones.update("agent-101", {"state": "online", "channel_ids": []})
    assert [type(e) for e in reported] == [q.DeviceFree, q.AgentRegistered]
    reported.clear()
    phones.update("agent-101", {"state": "online", "channel_ids": []})
    phones.update("agent-999", {"state": "online", "channel_ids": []})  # not in the file
    assert reported == []
