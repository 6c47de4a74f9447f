"""The queue adapter after a restart (decisions #13): a waiting caller back at its place, an
adopted conversation completing its record, the dead process's orphans cleared."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from ari_app.application import CallContext
from ari_app.errors import AriError
from ari_app.queue import CONVERSATION_PREFIX, RING_PREFIX, CallDistributor
from ari_app.queue.shared import Shared
from stadtruf.core.lifecycle import Ended, Queued
from stadtruf.core.snapshot import SNAPSHOT_VARIABLE, loads
from stadtruf.store.callbacks import CallbackStore
from tests.support.fake_ari import FakeAri
from tests.unit import test_queue_adapter
from tests.unit.test_queue_adapter import EPOCH, NOW, REQUEST, Start, agents, ev

start = test_queue_adapter.start  # the queue adapter tests' rig, as a fixture here too


async def test_a_waiting_caller_back_after_a_restart_keeps_the_place(start: Start) -> None:
    rig = await start(online=False)  # nobody to ring: the caller waits
    rig.caller(replace(REQUEST, queued_at=EPOCH - 60), call="old")
    rig.caller(REQUEST, call="new")
    await rig.fake.wait_for("start_moh", 2)
    await rig.settled()
    line = rig.queue.state.line("kfz")
    assert [c.call for c in line] == ["old", "new"]
    assert line[0].arrived == NOW - 60
    # Out of the bridge it may still be in from then, and in again; no second `Queued`.
    assert {"bridge_id": "stadtruf-queue-kfz", "channel_id": "old"} in rig.fake.calls(
        "remove_channel"
    )
    assert Queued("kfz", 0) not in rig.life.of("old")
    snap = loads(rig.fake.variables[("old", SNAPSHOT_VARIABLE)])
    assert snap is not None and (snap.stage, snap.queued_at) == ("queue", EPOCH - 60)


async def test_the_holding_bridge_left_by_a_dead_process_is_taken_over(start: Start) -> None:
    rig = await start(online=False)
    exists = AriError(409, "Bridge with id already exists", "POST", "/bridges")
    rig.fake.failures["create_bridge"] = exists
    rig.fake.answers["list_bridges"] = [{"id": "stadtruf-queue-kfz", "channels": ["old"]}]
    rig.caller(replace(REQUEST, queued_at=EPOCH - 60), call="old")
    await rig.fake.wait_for("start_moh")
    assert {"bridge_id": "stadtruf-queue-kfz", "channel_id": "old", "role": "participant"} in (
        rig.fake.calls("add_channel")
    )


async def test_an_adopted_conversation_reports_the_end_of_the_call(start: Start) -> None:
    rig = await start()
    bridge, agent_leg = f"{CONVERSATION_PREFIX}c9", f"{RING_PREFIX}9"
    rig.fake.answers["list_bridges"] = [{"id": bridge, "channels": ["c9", agent_leg]}]
    routes = rig.queue.routes()
    caller = CallContext(rig.fake, {"id": "c9"}, ("conversation", bridge))
    leg = CallContext(rig.fake, {"id": agent_leg}, ("conversation", bridge))
    caller_task, leg_task = (
        rig.run(routes["conversation"](caller)),
        rig.run(routes["conversation"](leg)),
    )
    await rig.fake.wait_for("list_bridges", 2)
    # The agent hangs up first; we end the caller's leg, whose hang-up comes after.
    leg.events.put_nowait(ev("ChannelHangupRequest", agent_leg, cause=16))
    await leg_task
    caller.events.put_nowait(ev("StasisEnd", "c9"))
    await caller_task
    assert rig.life.of("c9") == [Ended("agent")]
    assert rig.life.of(agent_leg) == []


async def test_a_caller_alone_in_an_adopted_conversation_lost_the_agent(start: Start) -> None:
    rig = await start()
    bridge = f"{CONVERSATION_PREFIX}c9"
    rig.fake.answers["list_bridges"] = [{"id": bridge, "channels": ["c9"]}]
    caller = CallContext(rig.fake, {"id": "c9"}, ("conversation", bridge))
    await rig.run(rig.queue.routes()["conversation"](caller))
    assert rig.life.of("c9") == [Ended("agent")]
    assert {c["channel_id"] for c in rig.fake.calls("hangup")} == {"c9"}


async def test_orphans_of_a_dead_process_are_cleared_on_connect(start: Start) -> None:
    rig = await start(online=False)
    ringing = {"id": f"{RING_PREFIX}old", "dialplan": {"app_name": "AppDial"}}
    caller = {"id": "c1", "dialplan": {"app_name": "Stasis"}}
    rig.fake.answers["list_channels"] = [ringing, caller]
    rig.fake.answers["list_bridges"] = [
        {"id": "stadtruf-queue-kfz", "channels": []},
        {"id": "stadtruf-queue-pass", "channels": ["c1"]},
        {"id": f"{CONVERSATION_PREFIX}c7", "channels": []},
    ]
    await rig.queue.connected(rig.fake)
    assert [c["channel_id"] for c in rig.fake.calls("hangup")] == [f"{RING_PREFIX}old"]
    destroyed = {c["bridge_id"] for c in rig.fake.calls("destroy_bridge")}
    assert destroyed == {"stadtruf-queue-kfz", f"{CONVERSATION_PREFIX}c7"}


async def test_adopted_calls_wait_for_the_queues_connection(tmp_path: Path) -> None:
    """The app adopts calls on connect, maybe before the queue's connect hook: their tasks
    wait for it instead of finding no connection."""
    fake = FakeAri()
    fake.answers["get_endpoint"] = {"state": "online", "channel_ids": []}
    queue = CallDistributor(
        agents(),
        app_name="stadtruf",
        callbacks=CallbackStore(tmp_path / "callbacks.jsonl"),
        clock=lambda: NOW,
        wall_clock=lambda: EPOCH,
        sink=lambda _: None,
    )
    bridge = f"{CONVERSATION_PREFIX}c9"
    talking = CallContext(fake, {"id": "c9"}, ("conversation", bridge))
    waiting = CallContext(fake, {"id": "old"}, ())
    tasks = [
        asyncio.create_task(queue.routes()["conversation"](talking)),
        asyncio.create_task(queue.wait_for_agent(waiting, replace(REQUEST, queued_at=EPOCH))),
    ]
    await asyncio.sleep(0.05)
    assert not any(t.done() for t in tasks) and fake.requests == []
    await queue.connected(fake)
    await fake.wait_for("list_bridges", 2)  # the conversation's, after the connect's sweep
    await fake.wait_for("start_moh")
    await queue.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def test_callers_queued_a_millisecond_apart_keep_their_order_whatever_pauses_the_app() -> None:
    """The chaos test once saw two callers queued 1 ms apart swap places after a restart: each
    arrival came from its own two clock reads, and the app paused 5 ms between the second
    caller's two (a busy machine), which moved that caller 5 ms earlier."""
    engine, wall = [100.0], [EPOCH]
    pauses = iter([0.0, 0.005])

    def wall_clock() -> float:
        pause = next(pauses, 0.0)
        engine[0] += pause
        wall[0] += pause
        return wall[0]

    shared = Shared(
        agents(),
        app_name="stadtruf",
        language="de",
        clock=lambda: engine[0],
        wall_clock=wall_clock,
        sink=lambda happened: None,
    )
    first, second = EPOCH - 10.001, EPOCH - 10.0
    assert shared.engine_time(first) == pytest.approx(89.999)
    assert shared.engine_time(second) == pytest.approx(90.0)  # not 89.995
    assert shared.wall_time(90.0) == pytest.approx(second)  # and back, with the same offset
    # The wall clock set back an hour: the offset is taken again.
    wall[0] -= 3600.0
    assert shared.engine_time(wall[0] - 10.0) == pytest.approx(engine[0] - 10.0)
    # Never later than now: a queued_at ahead of the wall clock is now.
    assert shared.engine_time(wall[0] + 60.0) == engine[0]
