"""The queue hand-off's bridges never outlive the calls, even when the app stops mid-cleanup."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from ari_app.application import CallContext
from ari_app.events import parse_event
from ari_app.handoff import QueueRequest, WaitingRoom, queue_bridge_id
from stadtruf.core.lifecycle import Ended, Happened, Queued


class FakeRest:
    def __init__(self) -> None:
        self.bridges: set[str] = set()
        self.slow_destroy = asyncio.Event()  # set = destroy may finish

    async def create_bridge(self, bridge_type: str, *, bridge_id: str, name: str) -> dict[str, Any]:
        self.bridges.add(bridge_id)
        return {"id": bridge_id}

    async def add_channel(self, bridge_id: str, channel_id: str, *, role: str) -> None:
        pass

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        pass

    async def start_moh(self, channel_id: str) -> None:
        pass

    async def set_var(self, channel_id: str, name: str, value: str) -> None:
        pass

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.slow_destroy.wait()
        self.bridges.discard(bridge_id)


def hangup(channel_id: str) -> Any:
    return parse_event({"type": "StasisEnd", "channel": {"id": channel_id}})


async def test_a_call_cancelled_while_waiting_to_leave_still_removes_its_bridge() -> None:
    rest = FakeRest()
    room = WaitingRoom()
    first = CallContext(rest, {"id": "c1"}, ())  # type: ignore[arg-type]
    second = CallContext(rest, {"id": "c2"}, ())  # type: ignore[arg-type]
    t1 = asyncio.create_task(room.wait_for_agent(first, QueueRequest("buergerbuero", "de")))
    t2 = asyncio.create_task(room.wait_for_agent(second, QueueRequest("vermittlung", "de")))
    await asyncio.sleep(0.01)
    assert rest.bridges == {queue_bridge_id("buergerbuero"), queue_bridge_id("vermittlung")}

    first.events.put_nowait(hangup("c1"))  # its slow destroy holds the lock
    await asyncio.sleep(0.01)
    second.events.put_nowait(hangup("c2"))  # waits for the lock in its cleanup
    await asyncio.sleep(0.01)
    t2.cancel()  # the app stops right now
    rest.slow_destroy.set()
    with contextlib.suppress(asyncio.CancelledError):
        await t2
    await t1
    assert rest.bridges == set()


async def test_the_waiting_room_reports_queued_and_one_end() -> None:
    rest = FakeRest()
    rest.slow_destroy.set()
    seen: list[Happened] = []
    room = WaitingRoom(seen.append, clock=lambda: 100.0)
    call = CallContext(rest, {"id": "c1"}, ())  # type: ignore[arg-type]
    task = asyncio.create_task(room.wait_for_agent(call, QueueRequest("vermittlung", "de")))
    await asyncio.sleep(0.01)
    call.events.put_nowait(hangup("c1"))
    await task
    assert [(h.call_id, h.at, h.event) for h in seen] == [
        ("c1", 100.0, Queued("vermittlung")),
        ("c1", 100.0, Ended("caller")),
    ]


async def test_the_waiting_room_ends_a_closed_lines_message_call() -> None:
    # Without a callback list there is nowhere to put the message: the call ends.
    hung_up: list[str] = []

    class Rest(FakeRest):
        async def hangup(self, channel_id: str) -> None:
            hung_up.append(channel_id)

    seen: list[Happened] = []
    room = WaitingRoom(seen.append, clock=lambda: 100.0)
    call = CallContext(Rest(), {"id": "c1"}, ())  # type: ignore[arg-type]
    await room.wait_for_agent(call, QueueRequest("vermittlung", "de", closed_action="callback"))
    assert hung_up == ["c1"]
    assert [h.event for h in seen] == [Ended("system")]
