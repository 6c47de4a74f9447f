"""Ringing agents: originate the ring, cancel it, read how it ended.

`RingAgent` → originate ``PJSIP/<agent>`` into this Stasis app with the arguments
``agent-leg,<call>`` and the caller's annotation (caller-ID name, ``X-Origin-City`` and
``X-Topic`` headers). A ring channel destroyed before it entered Stasis reports why
(`stadtruf.core.queue_rings.ring_ended`); the agent's leg entering Stasis is the answer
(`ari_app.queue.legs`).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import structlog

from ari_app.application import CallContext
from ari_app.errors import AriError
from ari_app.events import Event
from ari_app.queue.shared import Shared, quietly
from stadtruf.core import queue as q
from stadtruf.core.lifecycle import AgentRang, RingEnded
from stadtruf.core.queue_rings import (
    RING_PREFIX,
    ring_caller_id,
    ring_end,
    ring_ended,
    ring_seconds,
    ring_variables,
)

if TYPE_CHECKING:
    from ari_app.queue.conversation import Conversation

log = structlog.get_logger(__name__)

AGENT_LEG = "agent-leg"  # Stasis args of an agent's answered ring: agent-leg,<call>
AGENT_TRANSFER_CONTEXT = "stadtruf-agent-transfer"  # see dialplan/stadtruf.conf


@dataclass(eq=False)
class Ring:
    id: str  # the agent leg's channel id
    agent: str
    call: str
    leg: CallContext | None = None  # once answered (in Stasis)
    cancelled: bool = False
    conversation: Conversation | None = None  # once connected


@dataclass(frozen=True)
class RingTarget:
    """Who the ring is for, as the agent's phone shows it."""

    caller_number: str
    caller_id_name: str
    sip_headers: dict[str, str]
    topic: str


class Rings:
    """The rings under way: by channel id, and by (agent, call)."""

    def __init__(self, shared: Shared, new_id: Callable[[], str] | None = None) -> None:
        self.shared = shared
        self._new_id = new_id or (lambda: f"{RING_PREFIX}{uuid.uuid4().hex[:16]}")
        self._by_channel: dict[str, Ring] = {}
        self._by_call: dict[tuple[str, str], Ring] = {}

    def __len__(self) -> int:
        return len(self._by_channel)

    def get(self, channel_id: str) -> Ring | None:
        return self._by_channel.get(channel_id)

    async def ring(self, agent: str, call: str, seconds: float, target: RingTarget | None) -> None:
        """Ring `agent` for `call` for `seconds`; `target` None: the caller is gone already."""
        shared = self.shared
        if target is None:  # the engine hears of the caller's leaving right after
            shared.report(q.RingFailed(agent, call, now=shared.clock()))
            return
        ring = Ring(self._new_id(), agent, call)
        self._by_channel[ring.id] = ring
        self._by_call[(agent, call)] = ring
        log.info("queue.ring", agent=agent, call=call, timeout=seconds)
        shared.tell(call, AgentRang(agent))
        try:
            await shared.rest.originate(
                f"PJSIP/{agent}",
                app=shared.app_name,
                app_args=f"{AGENT_LEG},{call}",
                channel_id=ring.id,
                caller_id=ring_caller_id(target.caller_id_name, target.caller_number),
                variables=ring_variables(
                    target.sip_headers, call, target.topic, AGENT_TRANSFER_CONTEXT
                ),
                timeout=ring_seconds(seconds),
            )
        except AriError as exc:
            log.warning("queue.ring_failed", agent=agent, call=call, error=str(exc))
            self.forget(ring)
            shared.tell(call, RingEnded(agent, "unreachable"))
            shared.report(q.RingFailed(agent, call, now=shared.clock()))

    async def cancel(self, agent: str, call: str) -> None:
        """The engine took the ring back: a later answer is stale (the leg is hung up)."""
        ring = self._by_call.pop((agent, call), None)
        if ring is None:
            return
        ring.cancelled = True
        self._by_channel.pop(ring.id, None)
        log.info("queue.ring_cancelled", agent=agent, call=call)
        self.shared.tell(call, RingEnded(agent, "cancelled"))
        await quietly(self.shared.rest.hangup(ring.id))

    def answered(self, agent: str, call: str) -> Ring | None:
        """The ring the engine connects now, answered (with its leg), or None."""
        ring = self._by_call.pop((agent, call), None)
        return ring if ring is not None and ring.leg is not None else None

    def forget(self, ring: Ring) -> None:
        self._by_channel.pop(ring.id, None)
        if self._by_call.get((ring.agent, ring.call)) is ring:
            del self._by_call[(ring.agent, ring.call)]

    def on_destroyed(self, event: Event) -> None:
        """A channel went: if it was one of our rings, unanswered, tell the engine why."""
        ring = self._by_channel.get(event.channel_id or "")
        if ring is None or ring.leg is not None:
            return
        self.forget(ring)
        cause = int(event.raw.get("cause", 0) or 0)
        log.info("queue.ring_ended", agent=ring.agent, call=ring.call, cause=cause)
        self.shared.tell(ring.call, RingEnded(ring.agent, ring_end(cause)))
        self.shared.report(ring_ended(ring.agent, ring.call, cause, self.shared.clock()))

    async def hang_up_all(self) -> None:
        """No ring may outlive the app (it would reach an agent with no caller)."""
        for ring in list(self._by_channel.values()):
            await quietly(self.shared.rest.hangup(ring.id))
