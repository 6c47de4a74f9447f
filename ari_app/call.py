"""One inbound call on ARI: the driver of the pure call flow (`stadtruf.core.callflow`).

Every decision (origin, menus, language, annotation, route) is the flow's. Here we only
translate, in order, for one call: ARI events into flow events, flow effects into ARI
requests, the flow's timers into `DigitTimeout`s on the call's queue, and the call's life
events, stamped with the injected clock, into the sink.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Protocol

import structlog

from ari_app.application import CallContext, CallInput, CallSignal, Resynced
from ari_app.errors import AriError, AriNotFound
from ari_app.handoff import QueueHandoff, QueueRequest
from ari_app.port import Ari
from stadtruf.config.load import ServiceCenterConfig
from stadtruf.core import callflow, callflow_resume
from stadtruf.core.callflow import Arrival, CallState
from stadtruf.core.hours import Override
from stadtruf.core.lifecycle import Happened, LifeEvent, OriginDecided, RouteChosen
from stadtruf.core.menu import (
    CallerHungUp,
    CancelDigitTimer,
    DigitPressed,
    DigitTimeout,
    PlayPrompt,
    PromptFinished,
    SetLanguage,
    StartDigitTimer,
    StopPrompt,
)
from stadtruf.core.privacy import CALLER_PRESENTATION_VARIABLE, is_withheld
from stadtruf.core.prompts import media_uri
from stadtruf.core.snapshot import SNAPSHOT_VARIABLE, Snapshot, dumps, loads

log = structlog.get_logger(__name__)

_HANGUP_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"})


def _setting(effect: callflow.SetVariable | SetLanguage) -> tuple[str, str]:
    if isinstance(effect, SetLanguage):
        return ("CHANNEL(language)", effect.language)
    return (effect.name, effect.value)


# Effects that touch no channel (CallDriver._apply): they leave a run of settings whole.
_LOCAL = (callflow.Emit, StartDigitTimer, CancelDigitTimer)
# Effects that may go out while a barge-in's stop is still on its way (CallDriver._apply).
_OVERLAPS_A_STOP = (*_LOCAL, PlayPrompt, callflow.SetVariable, SetLanguage)
# The dialplan context that dials a transfer target with the annotation headers.
TRANSFER_CONTEXT = "stadtruf-transfer"

Clock = Callable[[], float]  # seconds since the epoch
Sink = Callable[[Happened], None]
Overrides = Callable[[], Sequence[Override]]  # opening-hours overrides in force now


def no_overrides() -> Sequence[Override]:
    return ()


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


# Calls `callback` after `seconds`; the default is the running loop's `call_later`.
Timers = Callable[[float, Callable[[], None]], TimerHandle]


class CallerGone(Exception):
    """The caller hung up; stop working on this call."""


def log_happened(happened: Happened) -> None:
    """The default sink: one log line per event of a call's life."""
    event = happened.event
    log.info(
        "call.happened",
        what=type(event).__name__,
        call_id=happened.call_id,
        at=happened.at,
        **asdict(event),
    )


def _loop_timers(seconds: float, callback: Callable[[], None]) -> TimerHandle:
    return asyncio.get_running_loop().call_later(seconds, callback)


@dataclass(frozen=True)
class MenuFlow:
    """The call flow for every inbound call; `config()` is read once per call (hot reload)."""

    config: Callable[[], ServiceCenterConfig]
    handoff: QueueHandoff
    clock: Clock = time.time
    sink: Sink = log_happened
    timers: Timers = field(default=_loop_timers)
    overrides: Overrides = no_overrides

    async def __call__(self, call: CallContext) -> None:
        config = self.config()  # a reload mid-call must not change this call's menu
        driver = CallDriver(call, config, self.handoff, self.clock, self.sink, self.timers)
        driver.overrides = tuple(self.overrides())
        try:
            await driver.run()
        except (CallerGone, AriNotFound):
            log.info("call.ended_by_caller")


class CallDriver:
    """Runs one call's flow on ARI until the flow is done (or the caller is gone)."""

    def __init__(
        self,
        call: CallContext,
        config: ServiceCenterConfig,
        handoff: QueueHandoff,
        clock: Clock,
        sink: Sink,
        timers: Timers,
    ) -> None:
        self.call = call
        self.rest: Ari = call.rest
        self.config = config
        self.handoff = handoff
        self.clock = clock
        self.sink = sink
        self.timers = timers
        self.channel_id = call.channel_id
        self.state: CallState | None = None
        self._playbacks: dict[int, str] = {}  # flow playback id -> ARI playback id
        self._flow_ids: dict[str, int] = {}  # ARI playback id -> flow playback id
        self._timers: dict[int, TimerHandle] = {}
        self._saved: Snapshot | None = None  # as last written to the channel
        self.overrides: tuple[Override, ...] = ()

    def arrival(self) -> Arrival:
        channel = self.call.channel
        caller = channel.get("caller", {})
        return Arrival(
            dialled=self.call.dialled,
            caller=self.call.caller_number,
            diversion=channel.get("caller_rdnis") or None,
            caller_name=str(caller.get("name", "")),
            # Set by [stadtruf-entry] before Stasis(): the channel JSON has no presentation.
            withheld=is_withheld(
                str(channel.get("channelvars", {}).get(CALLER_PRESENTATION_VARIABLE) or "")
            ),
            # The app's clock, not the machine's: tests set it (opening hours, records).
            at=datetime.fromtimestamp(self.clock(), UTC),
            overrides=self.overrides,
        )

    async def _begin(self) -> callflow.Step:
        """A new call starts; one adopted after a restart goes on from its snapshot."""
        if not self.call.adopted:
            return callflow.start(self.config, self.arrival())
        snap = await read_snapshot(self.rest, self.channel_id)
        self._saved = snap
        log.info("call.resumed", stage=snap.stage if snap is not None else None)
        return callflow_resume.resume(self.config, self.arrival(), snap)

    async def run(self) -> None:
        state, effects = await self._begin()
        try:
            while True:
                self.state = state
                try:
                    await self._apply(effects, state)
                except AriNotFound:
                    # The channel is gone under a request: the caller hung up meanwhile.
                    state, effects = callflow.step(state, CallerHungUp())
                    self.state = state
                    self._emit_only(effects)
                    raise
                if state.done:
                    return
                item = await self.call.next_event()
                if isinstance(item, Resynced):
                    log.info("call.resynced", stage=state.stage.value)
                    state, effects = callflow_resume.reconnected(state)
                    continue
                event = self._translate(item)
                effects = ()
                if event is not None:
                    state, effects = callflow.step(state, event)
        finally:
            for handle in self._timers.values():
                handle.cancel()
            self._timers.clear()

    # -- ARI → flow ----------------------------------------------------------------------

    def _translate(self, event: CallInput) -> callflow.Event | None:
        if isinstance(event, DigitTimeout):
            return event
        if isinstance(event, CallSignal):  # from the queue; not for the menus
            return None
        if event.type in _HANGUP_EVENTS:
            cause = event.raw.get("cause")
            return CallerHungUp(cause if isinstance(cause, int) else None)
        if event.type == "ChannelDtmfReceived" and event.digit:
            return DigitPressed(event.digit)
        if event.type == "PlaybackFinished" and event.playback_id is not None:
            pid = self._flow_ids.pop(event.playback_id, None)
            if pid is not None:
                self._playbacks.pop(pid, None)
                return PromptFinished(pid)
        return None

    # -- flow → ARI ----------------------------------------------------------------------

    async def _apply(self, effects: tuple[callflow.Effect, ...], state: CallState) -> None:
        # A key during a prompt gives (StopPrompt, …, PlayPrompt): the stop is not awaited
        # before the next prompt's play, so the two round trips overlap and the next prompt
        # starts one round trip earlier. Either order is right on Asterisk: a play that comes
        # first waits behind the playing prompt, which the stop then ends. Anything else
        # waits for the stop (the caller must be silent before a queue or transfer).
        # The snapshot of `state` goes with the settings before its prompt starts: Asterisk
        # runs a channel's requests one after the other, and a playback holds the next until
        # it ends.
        snap = callflow_resume.snapshot(state)
        unsaved = dumps(snap) if snap is not None and snap != self._saved else None
        stopping: asyncio.Task[None] | None = None
        settings: list[tuple[str, str]] = []
        try:
            for effect in effects:
                if stopping is not None and not isinstance(effect, _OVERLAPS_A_STOP):
                    await stopping
                    stopping = None
                if isinstance(effect, callflow.SetVariable | SetLanguage):
                    settings.append(_setting(effect))
                    continue
                if unsaved and isinstance(effect, PlayPrompt | callflow.PlayToEnd):
                    settings.append((SNAPSHOT_VARIABLE, unsaved))
                    unsaved = None
                if settings and not isinstance(effect, _LOCAL):  # one request for a run
                    # of settings (Ari.set_vars), sent before the next request to Asterisk
                    await self._set(settings, snap)
                    settings = []
                if isinstance(effect, StopPrompt):
                    stopping = asyncio.create_task(self._stop(effect.playback_id))
                    await asyncio.sleep(0)  # its request leaves before the play's
                    continue
                await self._apply_one(effect)
            if unsaved:
                settings.append((SNAPSHOT_VARIABLE, unsaved))
            if settings:
                await self._set(settings, snap)
        finally:
            if stopping is not None:
                await stopping

    async def _set(self, settings: list[tuple[str, str]], snap: Snapshot | None) -> None:
        """One request for a run of channel settings; the snapshot, if among them, is saved."""
        snapshot_only = len(settings) == 1 and settings[0][0] == SNAPSHOT_VARIABLE
        try:
            await self.rest.set_vars(self.channel_id, settings)
        except AriNotFound:
            raise
        except AriError as exc:
            if not snapshot_only:
                raise
            # The call goes on; only a restart now would start it over.
            log.warning("call.snapshot_not_saved", error=str(exc))
            return
        if any(name == SNAPSHOT_VARIABLE for name, _ in settings):
            self._saved = snap

    async def _stop(self, pid: int) -> None:
        ari_id = self._playbacks.get(pid)
        if ari_id is not None:
            with contextlib.suppress(AriNotFound):  # finished meanwhile
                await self.rest.stop_playback(ari_id)

    async def _apply_one(self, effect: callflow.Effect) -> None:
        match effect:
            case callflow.Emit(event=event):
                self._emit(event)
            case callflow.Answer():
                await self.rest.answer(self.channel_id)
            case PlayPrompt(prompts=prompts, language=language, playback_id=pid):
                media = [media_uri(p, language) for p in prompts]
                log.info("call.prompt", menu=effect.menu, media=media)
                await self._play(pid, media, language)
            case callflow.PlayToEnd(prompt=prompt, language=language, playback_id=pid):
                await self._play(pid, [media_uri(prompt, language)], language)
            case StartDigitTimer(seconds=seconds, timer_id=tid):
                self._timers[tid] = self.timers(seconds, self._timeout(tid))
            case CancelDigitTimer(timer_id=tid):
                handle = self._timers.pop(tid, None)
                if handle is not None:
                    handle.cancel()
            case callflow.Queue():
                await self.handoff.wait_for_agent(self.call, _queue_request(effect))
            case callflow.Transfer(target=target, extension=extension):
                log.info("call.transfer", target=target)
                await self.rest.continue_in_dialplan(
                    self.channel_id, context=TRANSFER_CONTEXT, extension=extension, priority=1
                )
            case callflow.Hangup():
                await self.rest.hangup(self.channel_id)

    def _timeout(self, timer_id: int) -> Callable[[], None]:
        return lambda: self.call.events.put_nowait(DigitTimeout(timer_id))

    async def _play(self, pid: int, media: list[str], language: str) -> None:
        ari_id = f"{self.channel_id}-{pid}-{uuid.uuid4().hex[:8]}"
        self._playbacks[pid] = ari_id
        self._flow_ids[ari_id] = pid
        await self.rest.play(self.channel_id, media, playback_id=ari_id, lang=language)

    def _emit(self, event: LifeEvent) -> None:
        match event:
            case OriginDecided(client=client, rule=rule):
                structlog.contextvars.bind_contextvars(client=client, origin_rule=rule)
            case RouteChosen(kind="client", target=client):
                structlog.contextvars.bind_contextvars(client=client)
            case RouteChosen(topic=topic) if topic:
                structlog.contextvars.bind_contextvars(topic=topic)
        self.sink(Happened(self.channel_id, self.clock(), event))

    def _emit_only(self, effects: tuple[callflow.Effect, ...]) -> None:
        for effect in effects:
            if isinstance(effect, callflow.Emit):
                self._emit(effect.event)


def _queue_request(effect: callflow.Queue) -> QueueRequest:
    return QueueRequest(
        topic=effect.topic,
        language=effect.language,
        client_id=effect.client_id,
        client_name=effect.client_name,
        topic_name=effect.topic_name,
        dialled=effect.dialled,
        caller_number=effect.caller_number,
        caller_id_name=effect.caller_id_name,
        sip_headers=dict(effect.sip_headers),
        closed_action=effect.closed_action,
        queued_at=effect.queued_at,
    )


async def read_snapshot(rest: Ari, channel_id: str) -> Snapshot | None:
    """The snapshot a process before this one left on the channel (None: none, or unreadable)."""
    try:
        return loads(await rest.get_var(channel_id, SNAPSHOT_VARIABLE))
    except AriNotFound:
        raise
    except AriError:
        return None
