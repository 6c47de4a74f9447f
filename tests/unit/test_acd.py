"""The queue adapter's reading of Asterisk: ring ends and endpoint state become engine events."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ari_app.acd import RING_PREFIX, CallDistributor, _Ring
from ari_app.events import parse_event
from stadtruf.config.agents import AgentsConfig
from stadtruf.core import queue as q

AGENTS = AgentsConfig.model_validate(
    {"agents": [{"id": "agent-101", "name": "Anna", "skills": [{"topic": "*"}]}]}
)


def distributor() -> CallDistributor:
    return CallDistributor(AGENTS, app_name="stadtruf", clock=lambda: 100.0)


def reported(queue: CallDistributor) -> list[q.Event]:
    inbox: asyncio.Queue[Any] = queue._inbox
    events = []
    while not inbox.empty():
        events.append(inbox.get_nowait()[0])
    return events


@pytest.mark.parametrize(
    ("cause", "expected"),
    [
        (19, q.RingTimedOut("agent-101", "c1", now=100.0)),
        (18, q.RingTimedOut("agent-101", "c1", now=100.0)),
        (17, q.RingFailed("agent-101", "c1", now=100.0, cause="busy")),
        (21, q.RingFailed("agent-101", "c1", now=100.0, cause="busy")),
        (20, q.RingFailed("agent-101", "c1", now=100.0, cause="unreachable")),
        (0, q.RingFailed("agent-101", "c1", now=100.0, cause="unreachable")),
    ],
)
def test_a_ring_that_ends_unanswered_reports_why(cause: int, expected: q.Event) -> None:
    queue = distributor()
    ring = _Ring(f"{RING_PREFIX}1", "agent-101", "c1")
    queue._rings[ring.id] = ring
    queue._ring_of[("agent-101", "c1")] = ring
    queue._on_event(
        parse_event({"type": "ChannelDestroyed", "cause": cause, "channel": {"id": ring.id}})
    )
    assert reported(queue) == [expected]
    assert not queue._rings and not queue._ring_of


def test_a_channel_that_is_not_our_ring_reports_nothing() -> None:
    queue = distributor()
    queue._on_event(
        parse_event({"type": "ChannelDestroyed", "cause": 16, "channel": {"id": "other"}})
    )
    assert reported(queue) == []


def endpoint(state: str, *channels: str) -> Any:
    return parse_event(
        {
            "type": "EndpointStateChange",
            "endpoint": {
                "technology": "PJSIP",
                "resource": "agent-101",
                "state": state,
                "channel_ids": list(channels),
            },
        }
    )


def test_endpoint_state_becomes_registration_and_device_state_changes_only() -> None:
    queue = distributor()
    queue._on_event(endpoint("online"))
    assert reported(queue) == [
        q.AgentRegistered("agent-101", now=100.0),
        q.DeviceFree("agent-101", now=100.0),
    ]
    queue._on_event(endpoint("online", f"{RING_PREFIX}abc"))  # our own ring: still free
    assert reported(queue) == []
    queue._on_event(endpoint("online", "1795.7"))  # a call the queue did not make
    assert reported(queue) == [q.DeviceBusy("agent-101", now=100.0)]
    queue._on_event(endpoint("offline"))
    assert reported(queue) == [
        q.AgentUnregistered("agent-101", now=100.0),
        q.DeviceFree("agent-101", now=100.0),
    ]


def test_endpoints_of_others_are_ignored() -> None:
    queue = distributor()
    event = endpoint("online")
    event.raw["endpoint"]["resource"] = "carrier"
    queue._on_event(event)
    assert reported(queue) == []
