"""What benchmarks.flow reads off the ServiceCenter: one `subscribeAll` ARI listener.

Both flows are timed by the same clock, Asterisk's own event timestamps (ms), on the same
ServiceCenter, so the observer's own delay (its WebSocket, this process's load) is not in the
figures:

- DTMF → next prompt: `ChannelDtmfReceived` of the caller's "2" (sent at the digit's end) to
  the moment Asterisk starts the submenu's prompt on that channel: for the app its
  `PlaybackStarted`, for the native dialplan the `ChannelDialplan` event of `BackGround(...)`
  with that prompt (Background opens the file in the same step). Either is Asterisk starting
  the next prompt; what lies between is the app's round trip (event out, stop, play in) or the
  dialplan's step.
- agent answer → caller connected: the agent's leg on the ServiceCenter turning `Up` (the
  phone's 200 OK) to the bridge that holds it and the caller. Both flows whisper the same two
  words to the agent in between, so this is the whisper plus the path's own work.
- concurrency: callers on the ServiceCenter (from the carrier), of them bridged to an agent.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from datetime import datetime

import aiohttp

from ari_app.events import Event
from ari_app.listener import Listener
from stadtruf.asterisk.topology import ARI_USER

APP = "flowbench"
# STADTRUF_FLOW_DUMP=file: every event seen, one JSON a line (opened once: no I/O per event).
_DUMP_PATH = os.environ.get("STADTRUF_FLOW_DUMP")
DUMP = open(_DUMP_PATH, "a", buffering=1 << 16) if _DUMP_PATH else None
CALLER_PREFIX = "PJSIP/carrier-"
AGENT_PREFIX = "PJSIP/agent-"


def _seconds(timestamp: str | None) -> float | None:
    if not timestamp:
        return None
    return datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


@dataclass
class Phase:
    """One flow's run: what the observer saw."""

    callers: int = 0
    answered: int = 0
    connected: int = 0
    first_arrival: float | None = None
    last_answer: float | None = None
    dtmf_ms: list[float] = field(default_factory=list)
    connect_ms: list[float] = field(default_factory=list)
    peak_callers: int = 0  # on the ServiceCenter at once: in menus, queue or talking
    peak_waiting: int = 0  # of them not (yet) bridged: menus and queue
    peak_bridged: int = 0

    @property
    def setup_rate(self) -> float | None:
        """Calls answered per second, first INVITE to last answer."""
        if self.first_arrival is None or self.last_answer is None:
            return None
        span = self.last_answer - self.first_arrival
        return self.answered / span if span > 0 else None


class FlowObserver(Listener):
    def __init__(
        self, session: aiohttp.ClientSession, url: str, password: str, submenu_uri: str
    ) -> None:
        super().__init__(session, url, APP, ARI_USER, password, subscribe_all=True)
        self._submenu_uri = submenu_uri
        self._submenu_file = submenu_uri.removeprefix("sound:")
        self.phase = Phase()
        self._live: set[str] = set()
        self._digit_at: dict[str, float] = {}
        self._agent_up: dict[str, float] = {}
        self._bridged: dict[str, str] = {}  # caller -> agent leg
        self._sampler: asyncio.Task[None] | None = None

    def start_phase(self) -> None:
        self.phase = Phase()
        self._digit_at.clear()
        self._agent_up.clear()

    async def start(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        await super().start(timeout)
        # Half of all events are variables set; the observer reads none, and Asterisk's work
        # for the observer is overhead in both flows alike.
        await self.rest.filter_events(APP, disallowed=["ChannelVarset"])
        self._sampler = asyncio.create_task(self._sample())

    async def close(self) -> None:
        if self._sampler is not None:
            self._sampler.cancel()
        await super().close()

    async def _sample(self) -> None:
        # Events change the counts; sampling keeps the peak cheap and the handler short.
        while True:
            await asyncio.sleep(0.25)
            p, bridged = self.phase, len(self._bridged)
            p.peak_callers = max(p.peak_callers, len(self._live))
            p.peak_waiting = max(p.peak_waiting, len(self._live) - bridged)
            p.peak_bridged = max(p.peak_bridged, bridged)

    @property
    def live(self) -> int:
        return len(self._live)

    async def handle(self, event: Event) -> None:
        if DUMP is not None:  # to see why a call was not counted, read its events
            DUMP.write(json.dumps(event.raw) + "\n")
        at = _seconds(event.timestamp)
        if at is None:
            return
        raw = event.raw
        channel = raw.get("channel") or {}
        name = str(channel.get("name", ""))
        cid = event.channel_id or ""
        p = self.phase
        match event.type:
            case "ChannelCreated" if name.startswith(CALLER_PREFIX):
                self._live.add(cid)
                p.callers += 1
                p.first_arrival = p.first_arrival if p.first_arrival is not None else at
            case "ChannelStateChange" if channel.get("state") == "Up":
                if name.startswith(CALLER_PREFIX):
                    p.answered += 1
                    p.last_answer = at
                elif name.startswith(AGENT_PREFIX):
                    self._agent_up[cid] = at
            case "ChannelDtmfReceived" if name.startswith(CALLER_PREFIX):
                if raw.get("digit") == "2":
                    self._digit_at[cid] = at
            case "PlaybackStarted":
                playback = raw.get("playback") or {}
                target = str(playback.get("target_uri", "")).removeprefix("channel:")
                media = str(playback.get("media_uri", ""))
                if self._submenu_uri in media:
                    self._prompt_started(target, at)
            case "ChannelDialplan" if name.startswith(CALLER_PREFIX):
                if raw.get("dialplan_app") == "BackGround" and self._submenu_file in str(
                    raw.get("dialplan_app_data", "")
                ):
                    self._prompt_started(cid, at)
            case "ChannelEnteredBridge":
                self._entered(raw, at)
            case "ChannelLeftBridge" | "ChannelDestroyed":
                self._bridged.pop(cid, None)
                if event.type == "ChannelDestroyed":
                    self._live.discard(cid)
                    self._agent_up.pop(cid, None)

    def _prompt_started(self, channel_id: str, at: float) -> None:
        pressed = self._digit_at.pop(channel_id, None)
        if pressed is not None:
            self.phase.dtmf_ms.append((at - pressed) * 1000)

    def _entered(self, raw: dict[str, object], at: float) -> None:
        bridge = raw.get("bridge")
        members = bridge.get("channels", []) if isinstance(bridge, dict) else []
        callers = [c for c in members if c in self._live]
        agents = [c for c in members if c in self._agent_up]
        if len(callers) != 1 or len(agents) != 1 or callers[0] in self._bridged:
            return
        self._bridged[callers[0]] = agents[0]
        self.phase.connected += 1
        self.phase.connect_ms.append((at - self._agent_up[agents[0]]) * 1000)
