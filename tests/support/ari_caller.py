"""A caller for the ARI call driver (`ari_app.call`) in unit tests: no Asterisk, no sleeps.

`AriCaller` runs `MenuFlow` on one channel against `FakeAri`, feeds it the ARI events a
caller's keys cause (DTMF, PlaybackFinished, hang-up), fires the digit timers by hand, and
keeps what the driver did: requests, channel variables, the queue hand-off, life events.
The keys mean what they mean for `stadtruf simulate` (digits, ``t`` silence, ``h`` hang up),
pressed when simulate presses them, so both drivers can be run on the same script.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from ari_app.application import CallContext, CallInput
from ari_app.call import MenuFlow
from ari_app.events import Event, parse_event
from ari_app.handoff import QueueRequest
from ari_app.rest import AriRest
from stadtruf.config import ServiceCenterConfig
from stadtruf.core.lifecycle import Happened
from tests.support.fake_ari import FakeAri

CHANNEL = "1700000000.1"
SILENT, HANG_UP = "t", "h"


class IdleCall(CallContext):
    """A CallContext that says when its handler waits for an event with none queued."""

    def __init__(self, rest: FakeAri, channel: dict[str, Any]) -> None:
        # CallContext still names the concrete client; the driver itself types it as `Ari`.
        super().__init__(cast(AriRest, rest), channel, ())
        self.idle = asyncio.Event()

    async def next_event(self) -> CallInput:
        if self.events.empty():
            self.idle.set()
        event = await self.events.get()
        self.idle.clear()
        return event


@dataclass
class ManualTimers:
    """The driver's timers, fired by the test instead of the clock."""

    running: dict[int, Callable[[], None]] = field(default_factory=dict)
    started: list[float] = field(default_factory=list)
    _next: int = 0

    def __call__(self, seconds: float, callback: Callable[[], None]) -> _Handle:
        self._next += 1
        self.running[self._next] = callback
        self.started.append(seconds)
        return _Handle(self, self._next)

    def fire(self) -> None:
        """Fire the newest running timer (the menu runs one at a time)."""
        key = max(self.running)
        self.running.pop(key)()


@dataclass
class _Handle:
    timers: ManualTimers
    key: int

    def cancel(self) -> None:
        self.timers.running.pop(self.key, None)


@dataclass
class RecordingHandoff:
    requests: list[QueueRequest] = field(default_factory=list)

    async def wait_for_agent(self, call: CallContext, request: QueueRequest) -> None:
        self.requests.append(request)


def channel_event(event_type: str, channel_id: str = CHANNEL, **fields: Any) -> Event:
    return parse_event({"type": event_type, "channel": {"id": channel_id}, **fields})


def playback_finished(playback_id: str, channel_id: str = CHANNEL) -> Event:
    return parse_event(
        {
            "type": "PlaybackFinished",
            "playback": {"id": playback_id, "target_uri": f"channel:{channel_id}"},
        }
    )


# Wednesday 3 June 2026, 10:00 Berlin: every sample client is open (opening hours).
OPEN_TIME = 1_780_473_600.0


class AriCaller:
    """One call on the ARI driver; `await run(keys)` plays the caller to the call's end."""

    def __init__(
        self,
        config: ServiceCenterConfig,
        *,
        dialled: str,
        caller: str = "",
        caller_name: str = "",
        diversion: str | None = None,
        clock: Callable[[], float] = lambda: OPEN_TIME,
    ) -> None:
        self.ari = FakeAri()
        channel: dict[str, Any] = {
            "id": CHANNEL,
            "caller": {"number": caller, "name": caller_name},
            "dialplan": {"exten": dialled},
        }
        if diversion is not None:
            channel["caller_rdnis"] = diversion
        self.call = IdleCall(self.ari, channel)
        self.timers = ManualTimers()
        self.handoff = RecordingHandoff()
        self.happened: list[Happened] = []
        self.flow = MenuFlow(
            lambda: config, self.handoff, clock=clock, sink=self.happened.append, timers=self.timers
        )
        self._done: set[str] = set()  # ARI playback ids finished or stopped

    @property
    def variables(self) -> dict[str, str]:
        return {name: value for (ch, name), value in self.ari.variables.items() if ch == CHANNEL}

    @property
    def events(self) -> list[Any]:
        return [h.event for h in self.happened]

    def playing(self) -> list[str]:
        """ARI playback ids started and neither finished nor stopped, oldest first."""
        stopped = {args["playback_id"] for args in self.ari.calls("stop_playback")}
        return [
            args["playback_id"]
            for args in self.ari.calls("play")
            if args["playback_id"] not in self._done | stopped
        ]

    async def run(self, keys: Iterable[str] = (), *, barge_in: bool = False) -> None:
        pending = iter(keys)
        task = asyncio.create_task(self.flow(self.call))
        try:
            while not await self._idle_or_done(task):
                self._act(pending, barge_in)
        finally:
            task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    async def _idle_or_done(self, task: asyncio.Task[None]) -> bool:
        idle = asyncio.ensure_future(self.call.idle.wait())
        async with asyncio.timeout(2):
            await asyncio.wait({task, idle}, return_when=asyncio.FIRST_COMPLETED)
        idle.cancel()
        if task.done():
            task.result()  # raises what the driver raised
            return True
        return False

    def _act(self, keys: Any, barge_in: bool) -> None:
        self.call.idle.clear()  # whatever we do now gives the driver something to take
        playing = self.playing()
        routed = "STADTRUF_ROUTE" in self.variables
        if self.timers.running:
            key = next(keys, None)
            if key is None or key == SILENT:
                self.timers.fire()
            else:
                self.press(key)
        elif playing:
            key = next(keys, None) if barge_in and not routed else None
            if key is None or key == SILENT:
                self.finish(playing[-1])
            else:
                self.press(key)
        else:
            raise AssertionError(f"the driver waits, but for nothing: {self.ari.names()[-5:]}")

    def press(self, key: str) -> None:
        if key == HANG_UP:
            self.hang_up()
        else:
            self.send(channel_event("ChannelDtmfReceived", digit=key, duration_ms=100))

    def finish(self, playback_id: str) -> None:
        self._done.add(playback_id)
        self.send(playback_finished(playback_id))

    def hang_up(self, cause: int = 16) -> None:
        self.send(channel_event("ChannelHangupRequest", cause=cause))
        self.send(channel_event("StasisEnd"))

    def send(self, event: CallInput) -> None:
        self.call.idle.clear()  # set again once the driver has taken it and waits
        self.call.events.put_nowait(event)


def queue_request(caller: AriCaller) -> QueueRequest | None:
    return caller.handoff.requests[-1] if caller.handoff.requests else None
