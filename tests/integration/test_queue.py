"""Issue #4 over real SIP: the queue rings the test agents' phones and bridges the caller.

Three registered agents with a fixed order (levels, see TEST_QUEUES): agent-103 is busy,
agent-102 never answers, agent-101 answers. Callers come from the test carrier, choose "0"
(Vermittlung) in their town's menu and wait in the queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import shutil
import wave
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any

import yaml

from ari_app.events import Event
from ari_app.handoff import queue_bridge_id
from ari_app.queue import CONVERSATION_PREFIX, RING_PREFIX, CallDistributor
from stadtruf.config import load_site
from stadtruf.config.agents import AgentsConfig, QueueSettings
from stadtruf.config.site import agents_path
from stadtruf.core.prompts import SpokenText
from stadtruf.core.queue_prompts import (
    callback_offer,
    entry_announcement,
    voicemail_prompt,
    voicemail_saved,
    whisper,
)
from stadtruf.paths import sample_config_dir
from stadtruf.service import LiveConfig, Records, Service, apply_reload, build_service
from stadtruf.store.agent_state import AgentStateFile
from stadtruf.store.callbacks import CallbackStore
from stadtruf.testcall import OutboundCall, TestCarrier
from tests.integration.conftest import TEST_AGENTS, TEST_QUEUES, Site, open_clock
from tests.integration.phones import Phones
from tests.integration.support import Observer, eventually, on_channel, playback
from tests.support.tones import send_tone, tone_passes


@contextlib.asynccontextmanager
async def queue_service(
    site: Site,
    tmp_path: Path,
    logged_in: Iterable[str] = TEST_AGENTS,
    agents: AgentsConfig = TEST_QUEUES,
    agent_state: AgentStateFile | None = None,
    live: LiveConfig | None = None,
    *,
    clock: Callable[[], float] | None = None,
    records: Records | None = None,
) -> AsyncIterator[Service]:
    service = build_service(
        site.app_settings,
        live or LiveConfig(sample_config_dir(), site.config),
        agents=agents,
        callbacks=CallbackStore(tmp_path / "callbacks.jsonl"),
        logged_in=logged_in,
        agent_state=agent_state,
        clock=clock or open_clock(),
        records=records,
    )
    task = asyncio.create_task(service.app.run())
    try:
        async with asyncio.timeout(10):
            await service.app.ready.wait()
        assert service.queue is not None
        # The queue learns the phones' registrations from ARI before the first call.
        queue = service.queue
        await eventually(
            lambda: all(queue.state.agents[a.id].registered for a in agents.agents), timeout=20
        )
        yield service
    finally:
        await service.app.stop()
        await task


async def queued(
    carrier: TestCarrier, observer: Observer, number: str, caller: str, digit: str = "0"
) -> tuple[OutboundCall, str]:
    """Call `number`, press `digit` at the greeting; return once the caller waits in a queue."""
    since = observer.mark()
    call = await carrier.call(number, caller=caller, caller_name="Max Mustermann")
    channel = await observer.channel_of_caller(caller, since=since)
    await observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since)
    await call.dtmf(digit)
    await observer.wait_for(
        lambda e: (
            on_channel(channel, "ChannelEnteredBridge")(e)
            and str(e.bridge_id).startswith(queue_bridge_id(""))
        ),
        since=since,
    )
    return call, channel


async def talking(observer: Observer, since: int) -> str:
    """Wait until a caller and an agent are in one conversation bridge; return its id."""
    event = await observer.wait_for(
        lambda e: (
            e.type == "ChannelEnteredBridge"
            and str(e.bridge_id).startswith(CONVERSATION_PREFIX)
            and len(e.raw["bridge"]["channels"]) == 2
        ),
        since=since,
    )
    return str(event.bridge_id)


async def accept_callback_offer(
    observer: Observer, call: OutboundCall, channel: str, since: int, *, timeout: float
) -> None:
    """Wait for the callback offer on `channel`, press 1, and wait for the goodbye."""
    offer = callback_offer("de")[0].media_uri
    await observer.wait_for(playback(channel, offer), since=since, timeout=timeout)
    await call.dtmf("1")
    await call.wait_ended(timeout=20)


def entered_bridge(channel: str, bridge: str) -> Callable[[Event], bool]:
    entered = on_channel(channel, "ChannelEnteredBridge")
    return lambda e: entered(e) and e.bridge_id == bridge


def queue_of(service: Service) -> CallDistributor:
    assert service.queue is not None
    return service.queue


async def test_call_rings_agents_in_order_and_connects_with_whisper(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    phones.behaviour.update({"agent-101": "answer", "agent-102": "ring", "agent-103": "busy"})
    async with queue_service(site, tmp_path) as service:
        queue = queue_of(service)
        since = observer.mark()
        call, channel = await queued(carrier, observer, "02041700", "02041555301")
        ring = await phones.next_answered()

        # Order: busy agent-103 first (skipped at once), agent-102 rings out, agent-101.
        assert [r.agent for r in phones.rings] == ["agent-103", "agent-102", "agent-101"]
        rung_out = phones.rings[2].at - phones.rings[1].at
        assert 2.5 <= rung_out <= 7, f"agent-102 rang {rung_out:.1f} s, ring_timeout is 3 s"

        # The agent's INVITE is annotated.
        assert ring.caller_id_name.startswith("[BOT] Vermittlung")
        assert ring.caller_number == "02041555301"
        assert ring.origin_city == "Bottrop"
        assert ring.topic == "vermittlung"

        # The whisper plays on the agent's leg only, then both are in one mixing bridge.
        expected = [t.media_uri for t in whisper("Bottrop", "Vermittlung", "de")]
        started = await observer.wait_for(
            lambda e: (
                e.type == "PlaybackStarted"
                and e.raw["playback"]["target_uri"].startswith(f"channel:{RING_PREFIX}")
            ),
            since=since,
        )
        assert started.raw["playback"]["media_uri"] == expected[0]
        leg = started.raw["playback"]["target_uri"].removeprefix("channel:")
        assert not observer.matching(
            lambda e: (
                e.type == "PlaybackStarted"
                and e.raw["playback"]["media_uri"] in expected
                and e.raw["playback"]["target_uri"] == f"channel:{channel}"
            ),
            since=since,
        )
        bridge = f"{CONVERSATION_PREFIX}{channel}"
        for member in (channel, leg):
            await observer.wait_for(entered_bridge(member, bridge), since=since)
        whisper_end = await observer.wait_for(
            lambda e: (
                e.type == "PlaybackFinished" and e.raw["playback"]["target_uri"] == f"channel:{leg}"
            ),
            since=since,
        )
        caller_bridged = observer.matching(
            lambda e: on_channel(channel, "ChannelEnteredBridge")(e) and e.bridge_id == bridge,
            since=since,
        )[0]
        assert observer.events.index(whisper_end) < observer.events.index(caller_bridged)

        # Audio flows both ways through the bridge: a tone from each end is heard at the other.
        # One direction after the other: a channel playing a tone does not hear (tones.py).
        citizen, phone = call.channel_id, ring.channel_id
        heard = await tone_passes(
            carrier.rest, citizen, phones.rest, phone, 1004, seconds=1.5, grace=2.0
        )
        assert heard, "caller → agent"
        await asyncio.sleep(0.5)
        heard = await tone_passes(
            phones.rest, phone, carrier.rest, citizen, 697, seconds=1.5, grace=2.0
        )
        assert heard, "agent → caller"

        # The caller hangs up: the agent's leg ends and the bridge goes.
        await call.hangup()
        await eventually(lambda: ring.channel_id in phones.ended)
        await eventually(lambda: queue.state.agents["agent-101"].status == "ready")
        assert queue.state.agents["agent-101"].calls_taken == 1
        assert [f.outcome for f in queue.finished] == ["connected"]


def with_wrapup(seconds: float) -> AgentsConfig:
    defaults = TEST_QUEUES.defaults.model_copy(update={"wrapup": seconds})
    return TEST_QUEUES.model_copy(update={"defaults": QueueSettings.model_validate(defaults)})


async def test_silent_and_busy_agents_are_autopaused_and_wrapup_is_respected(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    phones.behaviour.update({"agent-101": "answer", "agent-102": "ring", "agent-103": "busy"})
    wrapup = 6.0
    async with queue_service(site, tmp_path, agents=with_wrapup(wrapup)) as service:
        queue = queue_of(service)
        since = observer.mark()
        first, _ = await queued(carrier, observer, "02041700", "02041555311")
        answered = await phones.next_answered()
        await talking(observer, since)
        assert queue.state.agents["agent-101"].status == "busy"
        # One miss each so far: below autopause_after (2).
        assert queue.state.agents["agent-102"].paused is None
        assert queue.state.agents["agent-103"].paused is None
        await phones.hangup(answered)  # the agent ends the call: the caller's leg ends too
        await first.wait_ended()
        await eventually(lambda: queue.state.agents["agent-101"].status == "wrapup")
        ended_at = phones.rings[-1].at
        for ring in phones.rings:
            assert ring.channel_id in phones.ended or ring.agent != "agent-101"

        second, _ = await queued(carrier, observer, "02041700", "02041555312")
        again = await phones.next_answered(timeout=25)
        assert again.agent == "agent-101"
        assert again.at - ended_at >= wrapup, "agent-101 was rung during wrap-up"
        assert [r.agent for r in phones.rings[3:]] == ["agent-103", "agent-102", "agent-101"]
        for agent in ("agent-102", "agent-103"):
            assert queue.state.agents[agent].paused == "autopause", agent
        await second.hangup()
        await eventually(lambda: again.channel_id in phones.ended)


async def test_ten_waiting_callers_are_served_in_priority_then_arrival_order(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    phones.behaviour["agent-101"] = "answer"
    async with queue_service(site, tmp_path, logged_in=()) as service:
        queue = queue_of(service)
        # 115 callers first (priority 0), then the town's switchboard (priority 5).
        waves = [
            [("115", f"0204155540{i}") for i in range(5)],
            [("02041700", f"0204155541{i}") for i in range(5)],
        ]
        channel_number: dict[str, str] = {}
        for wave in waves:
            placed = await asyncio.gather(
                *(queued(carrier, observer, number, caller) for number, caller in wave)
            )
            for (_, caller), (_, channel) in zip(wave, placed, strict=True):
                channel_number[channel] = caller
        await eventually(lambda: len(queue.state.callers) == 10, timeout=10)
        waiting = sorted(queue.state.callers.values(), key=lambda c: c.order)
        expected = [channel_number[c.call] for c in waiting]
        assert [c.priority for c in waiting] == [5] * 5 + [0] * 5
        assert expected[:5] == sorted(expected[:5], key=lambda n: expected.index(n))

        await queue.login("agent-101")
        served: list[str] = []
        number_channel = {number: channel for channel, number in channel_number.items()}
        for _ in range(10):
            since = observer.mark()
            ring = await phones.next_answered()
            served.append(ring.caller_number)
            await talking(observer, since)
            await phones.hangup(ring)
            caller = number_channel[ring.caller_number]
            await observer.wait_for(on_channel(caller, "ChannelDestroyed"), since=since)
        assert served == expected
        assert [f.outcome for f in queue.finished] == ["connected"] * 10


async def test_callback_keeps_the_place_or_is_offered_at_the_maximum_wait(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    # Nobody is logged in: elterngeld (Bottrop menu "5") overflows to a callback after 3 s.
    async with queue_service(site, tmp_path, logged_in=()) as service:
        queue = queue_of(service)
        assert queue.callbacks is not None
        since = observer.mark()
        early, early_channel = await queued(carrier, observer, "02041700", "02041555501", "5")
        entry = entry_announcement("de")[0].media_uri
        await observer.wait_for(
            playback(early_channel, entry),
            since=since,
        )
        await early.dtmf("1")  # while waiting: call me back, I keep my place
        await early.wait_ended(timeout=20)

        since = observer.mark()
        late, late_channel = await queued(carrier, observer, "02041700", "02041555502", "5")
        await accept_callback_offer(observer, late, late_channel, since, timeout=15)

        stored = queue.callbacks.list()
        assert [(c.number, c.client, c.topic) for c in stored] == [
            ("02041555501", "bottrop", "elterngeld"),
            ("02041555502", "bottrop", "elterngeld"),
        ]
        assert stored[1].waited_s >= 3
        assert [f.outcome for f in queue.finished] == ["callback", "overflow"]


async def test_overflow_announcement_after_the_maximum_wait(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    # ordnungsamt (Bottrop menu "4"): after 2 s an announcement, then the call ends.
    async with queue_service(site, tmp_path, logged_in=()) as service:
        queue = queue_of(service)
        since = observer.mark()
        call, channel = await queued(carrier, observer, "02041700", "02041555511", "4")
        spoken = SpokenText("Bitte rufen Sie später wieder an.", "de").media_uri
        await observer.wait_for(
            playback(channel, spoken),
            since=since,
        )
        await call.wait_ended(timeout=20)
        assert [(f.topic, f.outcome) for f in queue.finished] == [("ordnungsamt", "overflow")]


async def test_caller_hanging_up_while_an_agent_rings_cancels_the_ring(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    phones.behaviour["agent-102"] = "ring"
    async with queue_service(site, tmp_path, logged_in=("agent-102",)) as service:
        queue = queue_of(service)
        call, _ = await queued(carrier, observer, "02041700", "02041555521")
        await eventually(lambda: len(phones.rings) == 1)
        await call.hangup()
        await eventually(lambda: phones.rings[0].channel_id in phones.ended)
        await eventually(lambda: queue.state.agents["agent-102"].status == "ready")
        assert [f.outcome for f in queue.finished] == ["abandoned"]
        assert queue.state.agents["agent-102"].misses == 0


async def test_agent_blind_transfer_sends_the_caller_on_with_the_annotation(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    phones.behaviour["agent-101"] = "answer"
    async with queue_service(site, tmp_path, logged_in=("agent-101",)) as service:
        queue = queue_of(service)
        since = observer.mark()
        call, _ = await queued(carrier, observer, "02041700", "02041555531")
        ring = await phones.next_answered()
        await talking(observer, since)
        # The agent transfers to the Abfall office (the phone sends a SIP REFER).
        await phones.rest.continue_in_dialplan(
            ring.channel_id, context="agent-transfer", extension="0204170350", priority=1
        )
        incoming = await asyncio.wait_for(carrier.incoming.get(), 15)
        office = incoming.raw["channel"]
        assert office["dialplan"]["exten"] == "0204170350"
        assert office["channelvars"]["X_ORIGIN_CITY"] == "Bottrop"
        assert office["channelvars"]["X_TOPIC"] == "vermittlung"
        assert office["caller"]["number"] == "02041555531"
        await eventually(lambda: ring.channel_id in phones.ended)
        await eventually(lambda: queue.state.agents["agent-101"].status == "ready")
        await carrier.rest.answer(office["id"])
        await carrier.rest.hangup(office["id"])
        await call.wait_ended()


async def test_an_agent_on_another_call_is_not_rung(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    phones.behaviour.update({"agent-101": "answer", "agent-103": "answer"})
    async with queue_service(site, tmp_path, logged_in=("agent-101", "agent-103")) as service:
        queue = queue_of(service)
        # agent-103 (first in order) is on a call the queue did not make: device state busy.
        other = await observer.rest.originate("PJSIP/agent-103", app="observer")
        private = await phones.next_answered()
        await eventually(lambda: queue.state.agents["agent-103"].device_busy)

        call, _ = await queued(carrier, observer, "02041700", "02041555541")
        ring = await phones.next_answered()
        assert ring.agent == "agent-101"
        assert [r.agent for r in phones.rings] == ["agent-103", "agent-101"]  # private, ours
        await call.hangup()
        await observer.rest.hangup(other["id"])
        await eventually(lambda: private.channel_id in phones.ended)
        await eventually(lambda: not queue.state.agents["agent-103"].device_busy)


def with_queue(
    topic: str, agents: list[dict[str, Any]] | None = None, **settings: Any
) -> AgentsConfig:
    """TEST_QUEUES with `topic`'s settings replaced (and other agents, if given)."""
    queues = {**TEST_QUEUES.queues, topic: QueueSettings.model_validate(settings)}
    update: dict[str, Any] = {"queues": queues}
    if agents is not None:
        update["agents"] = tuple(TEST_QUEUES.model_validate({"agents": agents}).agents)
    return TEST_QUEUES.model_copy(update=update)


async def test_overflow_into_another_queue_reaches_an_agent_there(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    # ordnungsamt (Bottrop "4") has nobody; after 2 s the caller moves on to vermittlung,
    # where agent-101 answers.
    agents = with_queue(
        "ordnungsamt",
        [{"id": "agent-101", "name": "Vera Vermittlung", "skills": [{"topic": "vermittlung"}]}],
        max_wait=2,
        overflow={"queue": "vermittlung"},
    )
    phones.behaviour["agent-101"] = "answer"
    async with queue_service(site, tmp_path, logged_in=("agent-101",), agents=agents) as service:
        queue = queue_of(service)
        since = observer.mark()
        call, channel = await queued(carrier, observer, "02041700", "02041555551", "4")
        await observer.wait_for(
            lambda e: (
                on_channel(channel, "ChannelEnteredBridge")(e)
                and e.bridge_id == queue_bridge_id("vermittlung")
            ),
            since=since,
        )
        ring = await phones.next_answered()
        assert ring.agent == "agent-101"
        # The agent learns what the call is about, not which line it waited in last.
        assert (ring.origin_city, ring.topic) == ("Bottrop", "ordnungsamt")
        await talking(observer, since)
        [finished] = queue.finished
        assert (finished.topic, finished.outcome, finished.agent) == (
            "vermittlung",
            "connected",
            "agent-101",
        )
        assert finished.waited >= 2
        await call.hangup()
        await eventually(lambda: ring.channel_id in phones.ended)


async def test_overflow_transfer_sends_the_caller_on_with_the_annotation(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    agents = with_queue("ordnungsamt", max_wait=2, overflow={"transfer": "0204170350"})
    async with queue_service(site, tmp_path, logged_in=(), agents=agents) as service:
        queue = queue_of(service)
        call, _ = await queued(carrier, observer, "02041700", "02041555561", "4")
        incoming = await asyncio.wait_for(carrier.incoming.get(), 15)
        office = incoming.raw["channel"]
        assert office["dialplan"]["exten"] == "0204170350"
        assert office["channelvars"]["X_ORIGIN_CITY"] == "Bottrop"
        assert office["channelvars"]["X_TOPIC"] == "ordnungsamt"
        assert office["caller"]["number"] == "02041555561"
        assert [(f.topic, f.outcome) for f in queue.finished] == [("ordnungsamt", "overflow")]
        await carrier.rest.answer(office["id"])
        await carrier.rest.hangup(office["id"])
        await call.wait_ended()


def tone_share(wav: bytes, hz: int) -> float:
    """How much of the recording's energy is at `hz` (Goertzel over the whole file)."""
    with wave.open(io.BytesIO(wav)) as audio:
        assert (audio.getnchannels(), audio.getsampwidth()) == (1, 2)
        rate = audio.getframerate()
        frames = audio.readframes(audio.getnframes())
    samples = [
        int.from_bytes(frames[i : i + 2], "little", signed=True) for i in range(0, len(frames), 2)
    ]
    coeff = 2 * math.cos(2 * math.pi * hz / rate)
    s1 = s2 = 0.0
    for x in samples:
        s1, s2 = x + coeff * s1 - s2, s1
    power = s1 * s1 + s2 * s2 - coeff * s1 * s2
    energy = sum(x * x for x in samples) * len(samples) / 2
    return power / energy if energy else 0.0


async def test_voicemail_when_nobody_is_there(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    # join_empty: false and nobody logged in: straight to the voicemail. The first caller
    # ends the message with #, the second hangs up: both messages are kept.
    agents = with_queue(
        "ordnungsamt", join_empty=False, overflow={"voicemail": True, "max_length": 20}
    )
    prompt = voicemail_prompt("de")[0].media_uri
    saved = voicemail_saved("de")[0].media_uri
    async with queue_service(site, tmp_path, logged_in=(), agents=agents) as service:
        queue = queue_of(service)
        callbacks = queue.callbacks
        assert callbacks is not None
        for number, end in [("02041555571", "#"), ("02041555572", "hangup")]:
            since = observer.mark()
            call = await carrier.call("02041700", caller=number, caller_name="Max Mustermann")
            channel = await observer.channel_of_caller(number, since=since)
            await observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since)
            await call.dtmf("4")
            await observer.wait_for(
                playback(channel, prompt, "PlaybackFinished"),
                since=since,
                timeout=30,
            )
            await asyncio.sleep(1.0)  # the beep
            await send_tone(carrier.rest, call.channel_id, 1000, 2.0)
            if end == "#":
                await call.dtmf("#")
                await observer.wait_for(
                    playback(channel, saved),
                    since=since,
                )
                await call.wait_ended(timeout=20)
            else:
                await call.hangup()

            def has_request(n: str = number) -> bool:
                return any(c.number == n for c in callbacks.list())

            await eventually(has_request)

        stored = callbacks.list()
        assert [(c.number, c.client, c.topic, c.kind) for c in stored] == [
            ("02041555571", "bottrop", "ordnungsamt", "voicemail"),
            ("02041555572", "bottrop", "ordnungsamt", "voicemail"),
        ]
        for message in stored:
            assert message.recording is not None and message.recording_s is not None
            assert message.recording_s >= 1
            audio = await queue.voicemail_audio(message.recording)
            assert audio is not None
            assert tone_share(audio, 1000) > 0.3, message
        assert [f.outcome for f in queue.finished] == ["overflow", "overflow"]
        for message in stored:
            assert message.recording is not None
            await observer.rest.delete_stored_recording(message.recording)


async def test_agents_stay_logged_in_and_paused_across_a_restart(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    phones.behaviour.update({"agent-101": "answer", "agent-103": "busy"})
    state = AgentStateFile(tmp_path / "agent-state.json")
    async with queue_service(site, tmp_path, logged_in=(), agent_state=state) as service:
        queue = queue_of(service)
        await queue.login("agent-101")
        await queue.login("agent-103")
        await queue.pause("agent-103", "Schulung")
    # The app restarts: nobody logs in by hand, yet the queue knows who is there.
    async with queue_service(site, tmp_path, logged_in=(), agent_state=state) as service:
        queue = queue_of(service)
        await eventually(lambda: queue.state.agents["agent-101"].status == "ready")
        assert queue.state.agents["agent-103"].paused == "Schulung"
        assert not queue.state.agents["agent-102"].logged_in
        call, _ = await queued(carrier, observer, "02041700", "02041555581")
        ring = await phones.next_answered()
        assert [r.agent for r in phones.rings] == ["agent-101"]  # not the paused agent-103
        await call.hangup()
        await eventually(lambda: ring.channel_id in phones.ended)


async def test_reloading_the_agents_file_adds_an_agent_and_new_skills(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    directory = tmp_path / "config"
    shutil.copytree(sample_config_dir(), directory)
    path = agents_path(directory)

    def write_agents(agents: list[dict[str, Any]]) -> None:
        data: dict[str, object] = {
            "defaults": dict(TEST_QUEUES.defaults.model_dump(exclude_none=True)),
            "agents": agents,
        }
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

    anna = {"id": "agent-101", "name": "Anna", "skills": [{"level": 2}]}
    write_agents([anna])
    loaded = load_site(directory)
    agents = loaded.agents
    assert agents is not None
    live = LiveConfig(directory, loaded.config, agents=agents)
    phones.behaviour.update({"agent-101": "answer", "agent-103": "answer"})
    async with queue_service(
        site, tmp_path, logged_in=("agent-101",), agents=agents, live=live
    ) as service:
        queue = queue_of(service)
        # The admin adds agent-103 ahead of Anna and reloads (`stadtruf config reload`).
        write_agents([anna, {"id": "agent-103", "name": "Berta", "skills": [{"level": 1}]}])
        assert await apply_reload(live)
        await eventually(lambda: queue.state.agents.get("agent-103") is not None)
        await eventually(lambda: queue.state.agents["agent-103"].registered)
        await queue.login("agent-103")
        call, _ = await queued(carrier, observer, "02041700", "02041555591")
        ring = await phones.next_answered()
        assert ring.agent == "agent-103"
        await call.hangup()
        await eventually(lambda: ring.channel_id in phones.ended)
        # A broken agents file is refused as a whole; the queue keeps the last good one.
        path.write_text("agents: [\n", encoding="utf-8")
        assert not await apply_reload(live)
        assert set(queue.state.agents) == {"agent-101", "agent-103"}


async def test_voicemail_that_cannot_record_offers_a_callback_instead(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    # Asterisk without its recording directory answers ARI's record with 500: the caller
    # must not be lost, so the queue falls back to the callback offer.
    agents = with_queue("ordnungsamt", join_empty=False, overflow={"voicemail": True})
    spool = site.center.directory / "spool" / "recording"
    moved = spool.with_name("recording.away")
    spool.rename(moved)
    try:
        async with queue_service(site, tmp_path, logged_in=(), agents=agents) as service:
            queue = queue_of(service)
            assert queue.callbacks is not None
            since = observer.mark()
            call, channel = await queued(carrier, observer, "02041700", "02041555599", "4")
            await accept_callback_offer(observer, call, channel, since, timeout=30)
            [stored] = queue.callbacks.list()
            assert (stored.number, stored.topic, stored.kind) == (
                "02041555599",
                "ordnungsamt",
                "callback",
            )
    finally:
        moved.rename(spool)
