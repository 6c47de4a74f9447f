"""The queue adapter on a fake Asterisk: what it asks of ARI, what it tells the engine and the
call's life, for each path a queued call can take."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from ari_app.application import CallContext
from ari_app.errors import AriError, AriNotFound
from ari_app.events import Event, parse_event
from ari_app.handoff import QueueRequest
from ari_app.queue import CONVERSATION_PREFIX, RING_PREFIX, CallDistributor
from ari_app.rest import JsonObject
from stadtruf.config.agents import AgentsConfig
from stadtruf.core import queue as q
from stadtruf.core.lifecycle import (
    AgentAnswered,
    AgentRang,
    CallbackRequested,
    Ended,
    Happened,
    LifeEvent,
    Overflowed,
    Queued,
    RingEnded,
    Transferred,
)
from stadtruf.core.queue_prompts import callback_confirmed, callback_hint, voicemail_saved
from stadtruf.store.callbacks import CallbackStore
from tests.support.fake_ari import FakeAri

NOW = 100.0
EPOCH = 1_800_000_000.0
QUIET = {"announce_every": 0, "wrapup": 0, "retry": 0, "autopause_after": 0}
REQUEST = QueueRequest(
    topic="kfz",
    language="de",
    client_id="bottrop",
    client_name="Bottrop",
    topic_name="Kfz-Zulassung",
    caller_number="02041 123456",
    caller_id_name='[BOT] "Kfz"',
    sip_headers={"X-Topic": "kfz"},
)


def agents(**defaults: Any) -> AgentsConfig:
    return AgentsConfig.model_validate(
        {
            "defaults": {**QUIET, **defaults},
            "agents": [{"id": "agent-101", "name": "Anna", "skills": [{"topic": "*"}]}],
        }
    )


def ev(kind: str, channel: str | None = None, **raw: Any) -> Event:
    data: dict[str, Any] = {"type": kind, **raw}
    if channel is not None:
        data["channel"] = {"id": channel, "name": raw.pop("name", f"PJSIP/{channel}")}
    return parse_event(data)


class Life:
    """The sink: every event of every call's life, with a wait instead of a sleep."""

    def __init__(self) -> None:
        self.seen: list[Happened] = []
        self._changed = asyncio.Event()

    def __call__(self, happened: Happened) -> None:
        self.seen.append(happened)
        self._changed.set()

    def of(self, call: str) -> list[LifeEvent]:
        return [h.event for h in self.seen if h.call_id == call]

    async def wait_for(self, event: LifeEvent, timeout: float = 2.0) -> None:
        async with asyncio.timeout(timeout):
            while event not in [h.event for h in self.seen]:
                self._changed.clear()
                await self._changed.wait()


class Rig:
    def __init__(self, queue: CallDistributor, fake: FakeAri, life: Life) -> None:
        self.queue, self.fake, self.life = queue, fake, life
        self.tasks: list[asyncio.Task[None]] = []

    def run(self, coro: Awaitable[None]) -> asyncio.Task[None]:
        task = asyncio.ensure_future(coro)
        self.tasks.append(task)
        return task

    def caller(self, request: QueueRequest = REQUEST, call: str = "c1") -> CallContext:
        context = CallContext(self.fake, {"id": call}, ())
        self.run(self.queue.wait_for_agent(context, request))
        return context

    async def answer(self, ring: dict[str, Any]) -> CallContext:
        leg = CallContext(self.fake, {"id": ring["channel_id"]}, ("agent-leg", "c1"))
        self.run(self.queue.routes()["agent-leg"](leg))
        return leg

    async def play_ends(self, context: CallContext, count: int) -> dict[str, Any]:
        """Wait for the `count`th playback; report it finished; its request."""
        play = (await self.fake.wait_for("play", count))[count - 1]
        assert play["channel_id"] == context.channel_id
        context.events.put_nowait(ev("PlaybackFinished", playback={"id": play["playback_id"]}))
        return play

    async def settled(self) -> None:
        await self.queue.shared.settle(q.Tick(now=NOW))

    async def talking(self) -> tuple[CallContext, CallContext]:
        caller = self.caller()
        [ring] = await self.fake.wait_for("originate")
        leg = await self.answer(ring)
        await self.play_ends(leg, 1)  # the whisper
        await self.life.wait_for(AgentAnswered("agent-101"))
        return caller, leg


Start = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    rigs: list[Rig] = []

    async def started(
        config: AgentsConfig | None = None, *, online: bool = True, fake: FakeAri | None = None
    ) -> Rig:
        fake = fake or FakeAri()
        fake.answers["get_endpoint"] = {
            "state": "online" if online else "offline",
            "channel_ids": [],
        }
        life = Life()
        queue = CallDistributor(
            config or agents(),
            app_name="stadtruf",
            callbacks=CallbackStore(tmp_path / "callbacks.jsonl"),
            logged_in=["agent-101"] if online else [],
            clock=lambda: NOW,
            wall_clock=lambda: EPOCH,
            sink=life,
        )
        await queue.connected(fake)
        rig = Rig(queue, fake, life)
        rigs.append(rig)
        return rig

    yield started
    for rig in rigs:
        await rig.queue.close()
        for task in rig.tasks:
            task.cancel()
        await asyncio.gather(*rig.tasks, return_exceptions=True)


async def test_a_caller_is_rung_through_whispered_and_bridged(start: Start) -> None:
    rig = await start()
    caller, leg = await rig.talking()
    [ring] = rig.fake.calls("originate")
    assert ring["endpoint"] == "PJSIP/agent-101"
    assert ring["app_args"] == "agent-leg,c1"
    assert ring["channel_id"].startswith(RING_PREFIX)
    assert ring["caller_id"] == "\"[BOT] 'Kfz'\" <02041 123456>"
    assert ring["variables"]["PJSIP_HEADER(add,X-Topic)"] == "kfz"
    assert ring["timeout"] == 15
    [bridge] = rig.fake.calls("create_bridge")[1:]  # after the holding bridge
    assert bridge["bridge_id"] == f"{CONVERSATION_PREFIX}c1"
    assert bridge["bridge_type"] == "mixing,proxy_media"
    assert caller.hand_back_on_stop is False and leg.hand_back_on_stop is False

    caller.events.put_nowait(ev("ChannelHangupRequest", "c1", cause=16))
    await rig.life.wait_for(Ended("caller", 16))
    assert {"channel_id": leg.channel_id, "reason": "normal"} in rig.fake.calls("hangup")
    leg.events.put_nowait(ev("StasisEnd", leg.channel_id))
    await rig.settled()
    assert rig.life.of("c1") == [
        Queued("kfz", 0),
        AgentRang("agent-101"),
        AgentAnswered("agent-101"),
        Ended("caller", 16),
    ]
    assert [(f.outcome, f.agent) for f in rig.queue.finished] == [("connected", "agent-101")]
    assert rig.queue.finished[0].at.timestamp() == EPOCH
    assert rig.queue.state.agents["agent-101"].status == "ready"


async def test_the_agent_hanging_up_while_talking_ends_the_call(start: Start) -> None:
    rig = await start()
    caller, leg = await rig.talking()
    leg.events.put_nowait(ev("ChannelHangupRequest", leg.channel_id, cause=16))
    await rig.fake.wait_for("destroy_bridge", 2)  # the holding bridge, then the conversation
    assert {"channel_id": "c1", "reason": "normal"} in rig.fake.calls("hangup")
    caller.events.put_nowait(ev("ChannelDestroyed", "c1", cause=16))
    await rig.life.wait_for(Ended("agent", 16))


async def test_an_agent_gone_during_the_whisper_puts_the_caller_back(start: Start) -> None:
    rig = await start()
    caller = rig.caller()
    [ring] = await rig.fake.wait_for("originate")
    leg = await rig.answer(ring)
    await rig.fake.wait_for("play")  # the whisper plays
    leg.events.put_nowait(ev("ChannelHangupRequest", leg.channel_id, cause=16))
    second = (await rig.fake.wait_for("originate", 2))[1]  # rung again, same caller
    assert second["app_args"] == "agent-leg,c1"
    caller.events.put_nowait(ev("StasisEnd", "c1"))
    await rig.life.wait_for(Ended("caller", None))
    # The ring is cancelled after the call's end (so a record says: abandoned while ringing).
    await rig.life.wait_for(RingEnded("agent-101", "cancelled"))
    assert {"channel_id": second["channel_id"], "reason": "normal"} in rig.fake.calls("hangup")


async def test_a_ring_that_ends_unanswered_is_a_miss_and_rings_again(start: Start) -> None:
    rig = await start()
    rig.caller()
    [ring] = await rig.fake.wait_for("originate")
    rig.queue.on_event(ev("ChannelDestroyed", ring["channel_id"], cause=19))
    await rig.life.wait_for(RingEnded("agent-101", "timeout"))
    await rig.fake.wait_for("originate", 2)
    await rig.settled()
    assert rig.queue.state.callers["c1"].missed_by == frozenset({"agent-101"})
    rig.queue.on_event(ev("ChannelDestroyed", "not-a-ring", cause=16))  # not ours: nothing


async def test_a_ring_asterisk_refuses_fails_at_once(start: Start) -> None:
    rig = await start(agents(retry=5))  # not rung again at once (the clock stands still)
    rig.fake.failures["originate"] = AriError(500, "POST", "/ari", "no such endpoint")
    rig.caller()
    await rig.life.wait_for(RingEnded("agent-101", "unreachable"))


async def test_an_answer_for_a_ring_no_longer_wanted_is_hung_up(start: Start) -> None:
    rig = await start()
    leg = CallContext(rig.fake, {"id": f"{RING_PREFIX}old"}, ("agent-leg", "gone"))
    await rig.queue.routes()["agent-leg"](leg)
    assert rig.fake.calls("hangup") == [{"channel_id": leg.channel_id, "reason": "normal"}]


async def test_endpoint_state_becomes_registration_and_device_state(start: Start) -> None:
    rig = await start()
    assert rig.fake.calls("subscribe") == [
        {"app": "stadtruf", "event_source": "endpoint:PJSIP/agent-101"}
    ]

    def endpoint(state: str, *channels: str, resource: str = "agent-101") -> Event:
        raw = {"technology": "PJSIP", "resource": resource, "state": state}
        return ev("EndpointStateChange", endpoint={**raw, "channel_ids": list(channels)})

    agent = lambda: rig.queue.state.agents["agent-101"]  # noqa: E731
    rig.queue.on_event(endpoint("online", "1795.7"))  # a call the queue did not make
    await rig.settled()
    assert agent().registered and agent().device_busy
    rig.queue.on_event(endpoint("online", f"{RING_PREFIX}abc"))  # our own ring: free
    await rig.settled()
    assert not agent().device_busy
    rig.queue.on_event(endpoint("offline"))
    rig.queue.on_event(endpoint("offline", resource="carrier"))  # not an agent
    await rig.settled()
    assert not agent().registered


async def test_an_unreadable_endpoint_counts_as_offline(start: Start) -> None:
    rig = await start(online=False)
    rig.fake.failures["get_endpoint"] = AriNotFound(404, "GET", "/ari", "no endpoint")
    await rig.queue.connected(rig.fake)
    await rig.settled()
    assert not rig.queue.state.agents["agent-101"].registered


async def test_announcement_then_1_for_a_callback_while_waiting(start: Start) -> None:
    rig = await start(agents(announce_every=60, overflow={"callback": True}), online=False)
    caller = rig.caller()
    announced = await rig.fake.wait_for("play")
    assert announced[0]["media"][-1] == callback_hint("de")[0].media_uri
    caller.events.put_nowait(ev("ChannelDtmfReceived", "c1", digit="1"))
    confirm = await rig.play_ends(caller, 2)
    assert confirm["media"] == [t.media_uri for t in callback_confirmed("de")]
    await rig.life.wait_for(Ended("system"))
    assert rig.life.of("c1") == [Queued("kfz", 0), CallbackRequested("callback"), Ended("system")]
    [stored] = rig.queue.callbacks.list() if rig.queue.callbacks else []
    assert (stored.number, stored.topic, stored.waited_s) == ("02041123456", "kfz", 0.0)
    assert [f.outcome for f in rig.queue.finished] == ["callback"]


async def test_without_a_number_1_gets_an_apology_and_the_caller_keeps_waiting(
    start: Start,
) -> None:
    rig = await start(agents(overflow={"callback": True}), online=False)
    caller = rig.caller(QueueRequest(topic="kfz", language="de"))
    await rig.fake.wait_for("start_moh")
    caller.events.put_nowait(ev("ChannelDtmfReceived", "c1", digit="1"))
    await rig.play_ends(caller, 1)
    await rig.fake.wait_for("start_moh", 2)  # the music is back
    await rig.settled()
    assert "c1" in rig.queue.state.callers


async def test_empty_queue_transfers_to_the_overflow_number(start: Start) -> None:
    rig = await start(agents(join_empty=False, overflow={"transfer": "0201 123456"}), online=False)
    rig.caller()
    [moved] = await rig.fake.wait_for("continue_in_dialplan")
    assert (moved["context"], moved["extension"]) == ("stadtruf-transfer", "0201123456")
    await rig.life.wait_for(Ended("transfer"))
    assert rig.life.of("c1")[1:] == [
        Overflowed("empty", "transfer", "0201123456"),
        Transferred("0201123456", "overflow"),
        Ended("transfer"),
    ]


async def test_overflow_to_an_endpoint_names_it_for_the_dialplan(start: Start) -> None:
    rig = await start(agents(join_empty=False, overflow={"transfer": "PJSIP/wbd"}), online=False)
    rig.caller()
    [moved] = await rig.fake.wait_for("continue_in_dialplan")
    assert moved["extension"] == "endpoint"
    assert rig.fake.variables[("c1", "STADTRUF_TRANSFER_ENDPOINT")] == "PJSIP/wbd"


async def test_overflow_announcement_then_goodbye(start: Start) -> None:
    rig = await start(
        agents(join_empty=False, overflow={"announce": "Bitte später."}), online=False
    )
    caller = rig.caller()
    await rig.play_ends(caller, 1)
    await rig.life.wait_for(Ended("system"))
    assert Overflowed("empty", "announce") in rig.life.of("c1")


async def test_overflow_into_another_queue_moves_the_caller(start: Start) -> None:
    config = AgentsConfig.model_validate(
        {
            "defaults": QUIET,
            "queues": {"kfz": {"join_empty": False, "overflow": {"queue": "pass"}}},
            "agents": [{"id": "agent-101", "name": "Anna", "skills": [{"topic": "pass"}]}],
        }
    )
    rig = await start(config)
    rig.caller()
    await rig.life.wait_for(Overflowed("empty", "queue", "pass"))
    [ring] = await rig.fake.wait_for("originate")
    assert ring["variables"]["STADTRUF_TOPIC"] == "pass"
    bridges = [c["bridge_id"] for c in await rig.fake.wait_for("create_bridge", 2)]
    assert bridges == ["stadtruf-queue-kfz", "stadtruf-queue-pass"]


async def test_callback_offer_at_the_maximum_wait(start: Start) -> None:
    rig = await start(agents(join_empty=False, overflow={"callback": True}), online=False)
    caller = rig.caller()
    await rig.fake.wait_for("play")
    caller.events.put_nowait(ev("ChannelDtmfReceived", "c1", digit="1"))
    await rig.play_ends(caller, 2)  # the confirmation
    await rig.life.wait_for(Ended("system"))
    assert rig.life.of("c1")[1:] == [
        Overflowed("empty", "callback"),
        CallbackRequested("callback"),
        Ended("system"),
    ]


async def test_a_caller_gone_during_the_offer(start: Start) -> None:
    rig = await start(agents(join_empty=False, overflow={"callback": True}), online=False)
    caller = rig.caller()
    await rig.fake.wait_for("play")
    caller.events.put_nowait(ev("ChannelDestroyed", "c1", cause=16))
    await rig.life.wait_for(Ended("caller", 16))


VOICEMAIL = {"voicemail": True, "max_length": 60}


async def voicemail(rig: Rig, *, duration: float | None, digit: str = "#") -> CallContext:
    caller = rig.caller()
    await rig.play_ends(caller, 1)  # the prompt
    [record] = await rig.fake.wait_for("record")
    assert (record["max_duration_s"], record["terminate_on"], record["beep"]) == (60, "#", True)
    recording = {"name": record["name"], "duration": duration}
    caller.events.put_nowait(ev("RecordingFinished", recording=recording))
    return caller


async def test_voicemail_is_stored_with_its_recording(start: Start) -> None:
    rig = await start(agents(join_empty=False, overflow=VOICEMAIL), online=False)
    caller = await voicemail(rig, duration=12)
    saved = await rig.play_ends(caller, 2)
    assert saved["media"] == [t.media_uri for t in voicemail_saved("de")]
    await rig.life.wait_for(Ended("system"))
    assert CallbackRequested("voicemail") in rig.life.of("c1")
    [stored] = rig.queue.callbacks.list() if rig.queue.callbacks else []
    assert stored.recording is not None and stored.recording.startswith("stadtruf-vm-")
    assert stored.recording_s == 12


async def test_a_voicemail_under_a_second_is_deleted(start: Start) -> None:
    rig = await start(agents(join_empty=False, overflow=VOICEMAIL), online=False)
    caller = await voicemail(rig, duration=0)
    await rig.play_ends(caller, 2)
    await rig.life.wait_for(Ended("system"))
    assert len(rig.fake.calls("delete_stored_recording")) == 1
    assert CallbackRequested("voicemail") not in rig.life.of("c1")


async def test_a_caller_who_hangs_up_while_recording_has_left_the_message(start: Start) -> None:
    rig = await start(agents(join_empty=False, overflow=VOICEMAIL), online=False)
    caller = rig.caller()
    await rig.play_ends(caller, 1)
    [record] = await rig.fake.wait_for("record")
    caller.events.put_nowait(ev("ChannelHangupRequest", "c1", cause=16))
    recording = {"name": record["name"], "duration": 7}
    caller.events.put_nowait(ev("RecordingFinished", recording=recording))
    await rig.life.wait_for(Ended("caller", 16))
    assert CallbackRequested("voicemail") in rig.life.of("c1")


async def test_without_recording_the_caller_gets_the_callback_offer(start: Start) -> None:
    rig = await start(agents(join_empty=False, overflow=VOICEMAIL), online=False)
    rig.fake.failures["record"] = AriError(500, "POST", "/ari", "no spool directory")
    caller = rig.caller()
    await rig.play_ends(caller, 1)
    await rig.fake.wait_for("play", 2)  # the offer
    caller.events.put_nowait(ev("ChannelDtmfReceived", "c1", digit="1"))
    await rig.play_ends(caller, 3)
    await rig.life.wait_for(CallbackRequested("callback"))


async def test_the_agents_blind_transfer_hands_the_caller_on(start: Start) -> None:
    rig = await start()
    _, leg = await rig.talking()
    local = "Local/0201999@stadtruf-agent-transfer-00a1"
    half = CallContext(rig.fake, {"id": "l1", "name": f"{local};1"}, ("replaces", leg.channel_id))
    rig.run(rig.queue.routes()["replaces"](half))
    dialling = CallContext(rig.fake, {"id": "l2", "name": f"{local};2"}, ("agent-transfer",))
    rig.run(rig.queue.routes()["agent-transfer"](dialling))
    [onward] = await rig.fake.wait_for("continue_in_dialplan")
    assert onward["channel_id"] == "l2"
    assert rig.fake.variables[("l2", "CALLERID(num)")] == "02041 123456"
    await rig.life.wait_for(Transferred("0201999", "agent"))
    leg.events.put_nowait(ev("StasisEnd", leg.channel_id))  # the agent left, alive
    await rig.settled()
    assert rig.queue.state.agents["agent-101"].status == "ready"  # free for the next call
    half.events.put_nowait(ev("ChannelHangupRequest", "l1", cause=16))
    await rig.fake.wait_for("destroy_bridge", 2)
    assert {"channel_id": "c1", "reason": "normal"} in rig.fake.calls("hangup")


async def test_a_transfer_whose_hangup_shows_before_the_replacement_keeps_the_caller(
    start: Start,
) -> None:
    """Asterisk may report the transferring agent's hang-up before its StasisEnd and before
    the replacement: the caller, marked BLINDTRANSFER, must not be hung up."""
    rig = await start()
    caller, leg = await rig.talking()
    await rig.fake.set_var(caller.channel_id, "BLINDTRANSFER", "PJSIP/agent-101-00000005")
    leg.events.put_nowait(ev("ChannelHangupRequest", leg.channel_id, cause=16))
    local = "Local/0201999@stadtruf-agent-transfer-00a1"
    half = CallContext(rig.fake, {"id": "l1", "name": f"{local};1"}, ("replaces", leg.channel_id))
    rig.run(rig.queue.routes()["replaces"](half))
    await rig.life.wait_for(Transferred("0201999", "agent"))
    leg.events.put_nowait(ev("StasisEnd", leg.channel_id))
    await rig.settled()
    assert {"channel_id": "c1", "reason": "normal"} not in rig.fake.calls("hangup")
    half.events.put_nowait(ev("ChannelHangupRequest", "l1", cause=16))
    await rig.fake.wait_for("destroy_bridge", 2)
    assert {"channel_id": "c1", "reason": "normal"} in rig.fake.calls("hangup")


async def test_a_replacement_for_no_conversation_is_hung_up(start: Start) -> None:
    rig = await start()
    half = CallContext(rig.fake, {"id": "l1", "name": "Local/1@x;1"}, ("replaces", "nobody"))
    await rig.queue.routes()["replaces"](half)
    assert rig.fake.calls("hangup") == [{"channel_id": "l1", "reason": "normal"}]


async def test_a_conversation_from_before_a_restart_ends_with_either_leg(start: Start) -> None:
    rig = await start()
    bridge = f"{CONVERSATION_PREFIX}c9"
    rig.fake.answers["list_bridges"] = [{"id": bridge, "channels": ["c9", f"{RING_PREFIX}9"]}]
    leg = CallContext(rig.fake, {"id": f"{RING_PREFIX}9"}, ("conversation", bridge))
    adopted = rig.run(rig.queue.routes()["conversation"](leg))
    await rig.fake.wait_for("list_bridges")
    leg.events.put_nowait(ev("StasisEnd", leg.channel_id))
    await adopted
    hung_up = {c["channel_id"] for c in rig.fake.calls("hangup")}
    assert hung_up == {"c9", f"{RING_PREFIX}9"}
    assert rig.fake.calls("destroy_bridge") == [{"bridge_id": bridge}]


async def test_agent_controls_and_voicemail_audio(start: Start) -> None:
    rig = await start()
    await rig.queue.pause("agent-101", "Mittag")
    assert rig.queue.snapshot().agents["agent-101"].paused == "Mittag"
    await rig.queue.ready("agent-101")
    await rig.queue.logout("agent-101")
    assert not rig.queue.snapshot().agents["agent-101"].logged_in
    await rig.queue.login("agent-101")
    rig.fake.answers["stored_recording_file"] = b"RIFF"
    assert await rig.queue.voicemail_audio("stadtruf-vm-1") == b"RIFF"
    rig.fake.failures["stored_recording_file"] = AriNotFound(404, "GET", "/ari", "gone")
    assert await rig.queue.voicemail_audio("stadtruf-vm-2") is None


async def test_a_reloaded_agents_file_watches_new_agents(start: Start) -> None:
    rig = await start()
    more = AgentsConfig.model_validate(
        {
            "defaults": QUIET,
            "agents": [{"id": "agent-102", "name": "Ben", "skills": [{"topic": "*"}]}],
        }
    )
    await rig.queue.reconfigure(more)
    assert rig.fake.calls("subscribe")[-1]["event_source"] == "endpoint:PJSIP/agent-102"
    assert list(rig.queue.state.agents) == ["agent-102"]


async def test_closing_hangs_up_rings_under_way(start: Start) -> None:
    rig = await start()
    rig.caller()
    [ring] = await rig.fake.wait_for("originate")
    await rig.queue.close()
    assert {"channel_id": ring["channel_id"], "reason": "normal"} in rig.fake.calls("hangup")


class SlowBridge(FakeAri):
    """Asterisk answers adding a channel to the conversation bridge only when `gate` opens."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def add_channel(
        self, bridge_id: str, channel_id: str, *, role: str | None = None
    ) -> None:
        await super().add_channel(bridge_id, channel_id, role=role)
        if bridge_id.startswith(CONVERSATION_PREFIX):
            await self.gate.wait()


async def test_an_agent_who_hangs_up_while_being_bridged_ends_the_call(start: Start) -> None:
    """Asterisk shows both in the bridge before our request returns; the agent may hang up
    then. The caller has been taken out of the line: the call ends, nobody is put back
    (this once made a connected caller end as 'abandoned' too)."""
    fake = SlowBridge()
    rig = await start(fake=fake)
    caller = rig.caller()
    [ring] = await fake.wait_for("originate")
    leg = await rig.answer(ring)
    await rig.play_ends(leg, 1)
    await fake.wait_for("add_channel", 2)  # the holding bridge, then the conversation's
    leg.events.put_nowait(ev("ChannelHangupRequest", leg.channel_id, cause=16))
    await fake.wait_for("destroy_bridge", 2)
    fake.gate.set()
    assert {"channel_id": "c1", "reason": "normal"} in fake.calls("hangup")
    caller.events.put_nowait(ev("ChannelDestroyed", "c1", cause=16))
    await rig.life.wait_for(Ended("agent", 16))
    await rig.settled()
    assert [f.outcome for f in rig.queue.finished] == ["connected"]
    assert len(fake.calls("originate")) == 1


class NoBridge(FakeAri):
    """Asterisk refuses to make the conversation bridge (holding bridges still work)."""

    async def create_bridge(
        self, bridge_type: str = "mixing", *, bridge_id: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        await super().create_bridge(bridge_type, bridge_id=bridge_id, name=name)
        if str(bridge_id).startswith(CONVERSATION_PREFIX):
            raise AriError(500, "POST", "/ari/bridges", "no bridge")
        return {}


async def test_a_bridge_asterisk_refuses_puts_the_caller_back_in_line(start: Start) -> None:
    fake = NoBridge()
    rig = await start(agents(retry=5), fake=fake)  # the agent rests: no second ring at once
    rig.caller()
    [ring] = await fake.wait_for("originate")
    leg = await rig.answer(ring)
    await rig.play_ends(leg, 1)
    await fake.wait_for("start_moh", 2)  # back in the holding bridge, with music
    await rig.settled()
    assert "c1" in rig.queue.state.callers
    assert {"channel_id": leg.channel_id, "reason": "normal"} in fake.calls("hangup")
    bridges = [c["bridge_id"] for c in fake.calls("create_bridge")]
    assert bridges == ["stadtruf-queue-kfz", f"{CONVERSATION_PREFIX}c1", "stadtruf-queue-kfz"]


class BusyWorker(FakeAri):
    """Asterisk answers ringing an agent for call c2 only when `gate` opens: until then the
    queue's worker waits for it, and what is reported meanwhile waits in line."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def originate(self, endpoint: str, **args: Any) -> JsonObject:
        answer = await super().originate(endpoint, **args)
        if args["app_args"] == "agent-leg,c2":
            await self.gate.wait()
        return answer


async def test_a_caller_who_hangs_up_as_the_agent_answers_leaves_no_agent_leg(
    start: Start,
) -> None:
    """The agent answers; the caller hangs up before the worker has seen the answer (it is
    busy ringing another agent). `Connect` then finds no caller: the agent's leg is hung up,
    not left up until the app stops."""
    fake = BusyWorker()
    two = AgentsConfig.model_validate(
        {
            "defaults": QUIET,
            "agents": [
                {"id": agent, "name": agent, "skills": [{"topic": "*"}]}
                for agent in ("agent-101", "agent-102")
            ],
        }
    )
    rig = await start(two, fake=fake)
    await rig.queue.login("agent-102")
    caller = rig.caller()
    [ring] = await fake.wait_for("originate")
    agent = ring["endpoint"].removeprefix("PJSIP/")
    rig.caller(call="c2")
    await fake.wait_for("originate", 2)  # the worker is held now
    leg = await rig.answer(ring)
    # The leg's task reports the answer before the caller's task sees the hang-up (tasks run
    # in the order they were woken); 'connected' below shows that the engine saw it first.
    caller.events.put_nowait(ev("ChannelHangupRequest", "c1", cause=16))
    await rig.life.wait_for(Ended("caller", 16))
    fake.gate.set()
    await rig.settled()

    assert {"channel_id": leg.channel_id, "reason": "normal"} in fake.calls("hangup")
    assert RingEnded(agent, "cancelled") not in rig.life.of("c1")
    assert [(f.call, f.outcome) for f in rig.queue.finished] == [("c1", "connected")]
    leg.events.put_nowait(ev("ChannelDestroyed", leg.channel_id, cause=16))
    await rig.settled()
    assert rig.queue.state.agents[agent].status == "ready"
    assert len(rig.queue.rings) == 1  # only c2's


class LateBridge(FakeAri):
    """Asterisk answers making the conversation bridge only when `gate` opens; by then the
    caller is gone, and adding them to the bridge fails."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def create_bridge(
        self, bridge_type: str = "mixing", *, bridge_id: str | None = None, name: str | None = None
    ) -> JsonObject:
        answer = await super().create_bridge(bridge_type, bridge_id=bridge_id, name=name)
        if str(bridge_id).startswith(CONVERSATION_PREFIX):
            await self.gate.wait()
        return answer

    async def add_channel(
        self, bridge_id: str, channel_id: str, *, role: str | None = None
    ) -> None:
        await super().add_channel(bridge_id, channel_id, role=role)
        if bridge_id.startswith(CONVERSATION_PREFIX) and channel_id == "c1":
            raise AriNotFound(404, "POST", "/ari/bridges", "Channel not found")


async def test_a_caller_who_hangs_up_while_being_bridged_leaves_no_bridge(start: Start) -> None:
    """The caller hangs up while the conversation bridge is being made: the agent's leg is
    hung up at once, and the bridge Asterisk makes after that is destroyed."""
    fake = LateBridge()
    rig = await start(fake=fake)
    caller = rig.caller()
    [ring] = await fake.wait_for("originate")
    leg = await rig.answer(ring)
    await rig.play_ends(leg, 1)
    await fake.wait_for("create_bridge", 2)  # the holding bridge, then the conversation's
    caller.events.put_nowait(ev("ChannelHangupRequest", "c1", cause=16))
    await rig.life.wait_for(Ended("caller", 16))
    assert {"channel_id": leg.channel_id, "reason": "normal"} in fake.calls("hangup")
    fake.gate.set()
    destroyed = await fake.wait_for("destroy_bridge", 2)  # holding, then the late one
    assert destroyed[-1] == {"bridge_id": f"{CONVERSATION_PREFIX}c1"}
    leg.events.put_nowait(ev("ChannelDestroyed", leg.channel_id, cause=16))
    await rig.settled()
    assert [f.outcome for f in rig.queue.finished] == ["connected"]
    assert rig.queue.state.agents["agent-101"].status == "ready"
    assert AgentAnswered("agent-101") not in rig.life.of("c1")
