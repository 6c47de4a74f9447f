"""The agents' phones: registration and device state, from Asterisk's endpoint state.

Endpoint state (``endpoint:PJSIP/agent-*`` subscription) → `AgentRegistered` /
`AgentUnregistered` and `DeviceBusy` / `DeviceFree` (channels on the endpoint that are not
our rings, see `stadtruf.core.queue_rings.device_busy`). Only changes are reported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from typing import Any

import structlog

from ari_app.errors import AriError, AriNotFound
from ari_app.events import Event
from ari_app.queue.shared import Shared
from stadtruf.core import queue as q
from stadtruf.core.queue_rings import device_busy

log = structlog.get_logger(__name__)


class Endpoints:
    def __init__(self, shared: Shared) -> None:
        self.shared = shared
        self._devices: dict[str, tuple[bool, bool]] = {}  # agent → (registered, busy) reported
        self._adopted: set[str] = set()  # agent legs of conversations from before a restart

    async def watch(self, agents: Iterable[str]) -> None:
        """Endpoint state is ours to ask for: subscribe, then read what we may have missed."""
        rest = self.shared.rest
        for agent in agents:
            with contextlib.suppress(AriError):
                await rest.subscribe(self.shared.app_name, f"endpoint:PJSIP/{agent}")
            try:
                endpoint = await rest.get_endpoint("PJSIP", agent)
            except AriNotFound:
                endpoint = {"state": "offline", "channel_ids": []}
            except AriError:
                log.warning("queue.endpoint_unreadable", agent=agent)
                continue
            self.update(agent, endpoint)

    def forget(self, agent: str) -> None:
        self._devices.pop(agent, None)

    def adopt(self, channel_id: str) -> None:
        """An agent leg talking from before a restart: its phone counts as busy."""
        self._adopted.add(channel_id)

    def release(self, channel_id: str) -> None:
        self._adopted.discard(channel_id)

    def on_state_change(self, event: Event) -> None:
        endpoint = event.raw.get("endpoint", {})
        if endpoint.get("technology") == "PJSIP":
            self.update(str(endpoint.get("resource", "")), endpoint)

    def update(self, agent: str, endpoint: Mapping[str, Any]) -> None:
        shared = self.shared
        if agent not in shared.config.by_id:
            return
        registered = endpoint.get("state") == "online"
        channels = [str(c) for c in endpoint.get("channel_ids", ())]
        busy = device_busy(channels, frozenset(self._adopted))
        before = self._devices.get(agent)
        now = shared.clock()
        # What keeps the phone from ringing goes to the engine first, what lets it ring last:
        # the engine may ring at each step, and a phone found registered *and* busy (after a
        # restart, an agent still talking) must never be rung in between.
        closing: list[q.Event] = []
        opening: list[q.Event] = []
        if before is None or before[1] != busy:
            if busy:
                closing.append(q.DeviceBusy(agent, now=now))
            else:
                opening.append(q.DeviceFree(agent, now=now))
        if before is None or before[0] != registered:
            if registered:
                opening.append(q.AgentRegistered(agent, now=now))
            else:
                closing.append(q.AgentUnregistered(agent, now=now))
        for event in (*closing, *opening):
            shared.report(event)
        if before != (registered, busy):
            log.info("queue.agent_device", agent=agent, registered=registered, busy=busy)
        self._devices[agent] = (registered, busy)
