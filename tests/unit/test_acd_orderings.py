"""Event orderings around the agent's answer that the queue adapter must survive.

Both were seen as flaky integration tests (issue 9, defect 5); here each ordering is made
deterministic with the fake ARI and a worker that is held while the race window is open:

- The caller hangs up while the agent's answer waits for the worker: `Connect` finds no
  caller, and the agent's leg must still be hung up (it stayed up until the app stopped).
- The agent hangs up while the conversation bridge is being made (the agent's leg is in the
  bridge, the request's answer not yet back): the call was connected and ends for both; the
  caller is not put back in line (that gave 'connected', then 'abandoned', for one caller).
"""

from __future__ import annotations

import asyncio
from typing import Any

from ari_app.acd import AGENT_LEG, CONVERSATION_PREFIX, RING_PREFIX, CallDistributor
from ari_app.application import CallContext
from ari_app.errors import AriNotFound
from ari_app.events import parse_event
from ari_app.handoff import QueueRequest
from stadtruf.config.agents import AgentsConfig
from stadtruf.core import queue as q
from tests.support.fake_ari import FakeAri

AGENTS = AgentsConfig.model_validate(
    {
        "defaults": {"wrapup": 0},
        "agents": [{"id": "agent-101", "name": "Anna", "skills": [{"level": 1}]}],
    }
)
REQUEST = QueueRequest(
    topic="vermittlung",
    language="de",
    client_id="bottrop",
    client_name="Bottrop",
    topic_name="Vermittlung",
    caller_number="02041555311",
    caller_id_name="[BOT] Vermittlung · Max Mustermann",
)


class HeldBridging(FakeAri):
    """`add_channel` of the agent's leg returns only once the test releases it: Asterisk has
    put the leg into the bridge, its answer to the request is still on the way."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def add_channel(
        self, bridge_id: str, channel_id: str, *, role: str | None = None
    ) -> None:
        await super().add_channel(bridge_id, channel_id, role=role)
        if channel_id.startswith(RING_PREFIX):
            await self.release.wait()


def event(kind: str, channel: str, **more: Any) -> Any:
    return parse_event({"type": kind, "channel": {"id": channel}, **more})


def start_worker(queue: CallDistributor) -> None:
    queue._worker = asyncio.create_task(queue._work())


async def hold_worker(queue: CallDistributor) -> None:
    """Events reported from now on wait in the inbox until `start_worker`."""
    assert queue._worker is not None
    queue._worker.cancel()
    await asyncio.gather(queue._worker, return_exceptions=True)
    queue._worker = None


async def settle(queue: CallDistributor) -> None:
    """Until the worker has carried out everything reported so far."""
    await queue._report_and_settle(q.Tick(now=queue.clock()))


async def ringing(ari: FakeAri) -> tuple[CallDistributor, CallContext, asyncio.Task[None], str]:
    """agent-101 ready, one caller waiting, the agent's phone ringing: the ring's channel id."""
    queue = CallDistributor(AGENTS, app_name="stadtruf")
    queue._rest = ari  # type: ignore[assignment]
    start_worker(queue)
    queue.report(q.AgentLoggedIn("agent-101", now=queue.clock()))
    queue.report(q.AgentRegistered("agent-101", now=queue.clock()))
    caller = CallContext(ari, {"id": "c1"}, ())  # type: ignore[arg-type]
    waiting = asyncio.create_task(queue.wait_for_agent(caller, REQUEST))
    (ring,) = await ari.wait_for("originate")
    return queue, caller, waiting, str(ring["channel_id"])


async def answered(queue: CallDistributor, ari: FakeAri, ring: str) -> CallContext:
    leg = CallContext(ari, {"id": ring}, (AGENT_LEG, "c1"))  # type: ignore[arg-type]
    queue._start(queue.agent_leg(leg))
    return leg


async def test_caller_gone_before_the_connect_hangs_up_the_agents_leg() -> None:
    ari = FakeAri()
    queue, caller, waiting, ring = await ringing(ari)

    await hold_worker(queue)
    leg = await answered(queue, ari, ring)
    async with asyncio.timeout(2):  # the answer is reported, the worker has not seen it
        while queue._inbox.empty():
            await asyncio.sleep(0)
    caller.events.put_nowait(event("ChannelHangupRequest", "c1"))
    await waiting  # the caller's task is over: no caller left for the answer
    start_worker(queue)
    await settle(queue)

    hangups = [c["channel_id"] for c in ari.calls("hangup")]
    assert hangups == [ring], "the agent's leg must not stay up without a caller"
    leg.events.put_nowait(event("StasisEnd", ring))
    await settle(queue)
    assert queue.state.agents["agent-101"].status == "ready"
    assert not queue._rings and not queue._ring_of
    assert [f.outcome for f in queue.finished] == ["connected"]
    await queue.close()


async def test_agent_hanging_up_while_bridging_ends_the_call_and_does_not_requeue() -> None:
    ari = HeldBridging()
    queue, caller, waiting, ring = await ringing(ari)
    leg = await answered(queue, ari, ring)
    await ari.wait_for("play")  # the whisper
    whisper_done = {"type": "PlaybackFinished", "playback": {"id": f"{ring}-whisper"}}
    leg.events.put_nowait(parse_event(whisper_done))
    await ari.wait_for("add_channel", 3)  # the holding bridge, then caller and agent
    conversation = [
        a for a in ari.calls("add_channel") if a["bridge_id"].startswith(CONVERSATION_PREFIX)
    ]
    assert [a["channel_id"] for a in conversation] == ["c1", ring]

    # The agent hangs up now: Asterisk had put their leg into the bridge already.
    leg.events.put_nowait(event("ChannelHangupRequest", ring))
    async with asyncio.timeout(2):
        while queue.state.agents["agent-101"].status == "busy":
            await asyncio.sleep(0)
    ari.release.set()
    await settle(queue)
    caller.events.put_nowait(event("ChannelHangupRequest", "c1"))
    await waiting
    await settle(queue)

    assert [f.outcome for f in queue.finished] == ["connected"]
    assert "c1" not in queue.state.callers, "the caller was put back in line"
    assert len(ari.calls("originate")) == 1, "the agent was rung again"
    assert "c1" in [c["channel_id"] for c in ari.calls("hangup")], "the caller stayed up"
    assert f"{CONVERSATION_PREFIX}c1" in [c["bridge_id"] for c in ari.calls("destroy_bridge")]
    await queue.close()


class CallerGoneWhileBridging(FakeAri):
    """`create_bridge` of the conversation returns only once the test releases it; by then
    the caller has hung up, so adding them to the bridge fails."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def create_bridge(
        self, bridge_type: str = "mixing", *, bridge_id: str | None = None, name: str | None = None
    ) -> Any:
        answer = await super().create_bridge(bridge_type, bridge_id=bridge_id, name=name)
        if str(bridge_id).startswith(CONVERSATION_PREFIX):
            await self.release.wait()
        return answer

    async def add_channel(
        self, bridge_id: str, channel_id: str, *, role: str | None = None
    ) -> None:
        await super().add_channel(bridge_id, channel_id, role=role)
        if bridge_id.startswith(CONVERSATION_PREFIX) and channel_id == "c1":
            raise AriNotFound(404, "POST", f"/bridges/{bridge_id}/addChannel", "Channel not found")


async def test_caller_hanging_up_while_bridging_leaves_no_bridge_and_no_agent_leg() -> None:
    ari = CallerGoneWhileBridging()
    queue, caller, waiting, ring = await ringing(ari)
    leg = await answered(queue, ari, ring)
    await ari.wait_for("play")  # the whisper
    whisper_done = {"type": "PlaybackFinished", "playback": {"id": f"{ring}-whisper"}}
    leg.events.put_nowait(parse_event(whisper_done))
    await ari.wait_for("create_bridge", 2)  # the holding bridge, then the conversation

    caller.events.put_nowait(event("ChannelHangupRequest", "c1"))
    await waiting
    ari.release.set()
    async with asyncio.timeout(2):
        while f"{CONVERSATION_PREFIX}c1" not in [
            b["bridge_id"] for b in ari.calls("destroy_bridge")
        ]:
            await asyncio.sleep(0)
    assert ring in [c["channel_id"] for c in ari.calls("hangup")]
    await settle(queue)
    assert [f.outcome for f in queue.finished] == ["connected"]
    assert queue.state.agents["agent-101"].status == "ready"
    await queue.close()
