"""The agent's side of a call: the answered ring, conversations adopted after a restart, and
the agent's blind transfer.

- The agent's leg entering Stasis (``agent-leg,<call>``) is the answer → `RingAnswered`; the
  engine answers with `Connect` (here: a `Conversation`), or for a stale answer the leg is
  hung up.
- After a restart, legs still talking in one of our bridges come back as ``conversation``:
  the engine does not know them; whoever hangs up first ends the other leg and the bridge.
- The agent's blind transfer (SIP REFER) puts a Local channel in the agent's place in our
  bridge (``replaces``); its dialling half (``agent-transfer``) gets the call's annotation
  and goes on in the dialplan.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog

from ari_app.application import CallContext
from ari_app.errors import AriError
from ari_app.events import Event
from ari_app.handoff import HANGUP_EVENTS
from ari_app.queue.conversation import CONVERSATION_PREFIX, Conversation
from ari_app.queue.endpoints import Endpoints
from ari_app.queue.line import Line
from ari_app.queue.rings import Ring, Rings
from ari_app.queue.shared import Connected, Shared, hangup_cause, quietly
from stadtruf.core import queue as q
from stadtruf.core.annotation import header_variable
from stadtruf.core.lifecycle import Ended, EndedBy, Transferred
from stadtruf.core.queue_rings import is_ring

log = structlog.get_logger(__name__)

AGENT_TRANSFER = "agent-transfer"  # Stasis args of a transfer's dialling half (dialplan)
TRANSFER_GRACE = 2.0  # seconds for a transfer's replacement to show after the agent left


def local_target(channel_name: str) -> str:
    """What a Local channel dials: ``Local/0201123@stadtruf-agent-transfer-00a1;1`` → 0201123."""
    return channel_name.removeprefix("Local/").split("@", 1)[0]


def local_partner(channel_name: str) -> str:
    """The other half of a Local channel (``…;2`` → ``…;1``); empty for any other channel."""
    return channel_name[:-1] + "1" if channel_name.endswith(";2") else ""


class AgentLegs:
    def __init__(self, shared: Shared, rings: Rings, endpoints: Endpoints, line: Line) -> None:
        self.shared = shared
        self.rings = rings
        self.endpoints = endpoints
        self.line = line
        # A transfer's Local channel half in our bridge (by name) → its conversation.
        self._replacements: dict[str, Conversation] = {}
        self._replacement_added = asyncio.Condition()
        # Adopted conversations (by bridge): who left first, for the call's `Ended`.
        self._adopted_ends: dict[str, EndedBy] = {}

    async def connect(self, agent: str, call: str) -> None:
        """`Connect`: the answered ring and the waiting caller become a conversation."""
        ring = self.rings.answered(agent, call)
        caller = self.line.get(call)
        if ring is None or ring.leg is None or caller is None:
            # The caller hung up as the agent answered: the engine had the answer first, and
            # the caller's task was over before this Connect. The agent's leg must not stay up.
            log.info("queue.caller_gone_before_connect", agent=agent, call=call)
            if ring is not None:
                self.rings.forget(ring)
                if ring.leg is not None:
                    await quietly(self.shared.rest.hangup(ring.leg.channel_id))
            self.shared.report(q.CallEnded(agent, call, now=self.shared.clock()))
            return
        conversation = Conversation(self.shared, agent, ring.leg, caller, self.line.requeue)
        ring.conversation = caller.conversation = conversation
        caller.call.events.put_nowait(Connected(conversation))
        ring.leg.events.put_nowait(Connected(conversation))

    async def agent_leg(self, leg: CallContext) -> None:
        """The agent answered one of our rings: the leg is in Stasis now."""
        ring = self.rings.get(leg.channel_id)
        if ring is None or ring.cancelled:
            log.info("queue.stale_answer", channel=leg.channel_id)
            await quietly(self.shared.rest.hangup(leg.channel_id))
            return
        ring.leg = leg
        # Not the caller's apology route on shutdown: an agent's leg is hung up (below), or
        # stays up while it talks.
        leg.hand_back_on_stop = False
        structlog.contextvars.bind_contextvars(agent=ring.agent, call=ring.call)
        log.info("queue.ring_answered")
        self.shared.report(q.RingAnswered(ring.agent, ring.call, now=self.shared.clock()))
        try:
            await self._follow(leg, ring)
        except asyncio.CancelledError:
            if ring.conversation is None or not ring.conversation.talking:
                await quietly(self.shared.rest.hangup(leg.channel_id))
            raise

    async def _follow(self, leg: CallContext, ring: Ring) -> None:
        conversation: Conversation | None = None
        hung_up = False
        while True:
            item = await leg.next_event()
            if isinstance(item, Connected):
                conversation = item.conversation
                self.shared.start(conversation.run())
            elif isinstance(item, Event) and item.type in HANGUP_EVENTS:
                self.rings.forget(ring)
                hung_up = hung_up or item.type != "StasisEnd"
                if conversation is not None and (
                    not hung_up or await self._blind_transfer(conversation, leg)
                ):
                    # The agent's blind transfer: the Local channel that takes the agent's
                    # place arrives as a replacement, maybe a moment after the agent left.
                    await conversation.wait_replaced(TRANSFER_GRACE)
                if conversation is not None:
                    await conversation.end("agent", leg.channel_id)
                return
            elif isinstance(item, Event) and conversation is not None:
                conversation.on_agent_event(item)

    async def _blind_transfer(self, conversation: Conversation, leg: CallContext) -> bool:
        """Did the agent's leg go because it transferred the caller?

        Leaving Stasis alive says so, but Asterisk may report the transferring channel's
        hang-up before its StasisEnd. Asterisk marks the transferred caller with
        ``BLINDTRANSFER`` (the transferring channel's name) before it hangs that channel up.
        """
        try:
            marked = await self.shared.rest.get_var(conversation.call_id, "BLINDTRANSFER")
        except AriError:
            return False
        log.info("queue.agent_left", leg=leg.channel_id, blind_transfer=marked or "")
        return bool(marked)

    async def adopted_conversation(self, leg: CallContext) -> None:
        """A caller or agent still talking from before the app restarted (see application).

        The engine does not know this conversation: the agent counts as busy (device state)
        until it ends, and whoever hangs up first ends the other leg and the bridge. The
        caller's leg (the bridge is named after it) reports the call's `Ended`, so the record
        the restart left open is completed as answered, not lost.
        """
        rest = self.shared.rest
        leg.hand_back_on_stop = False
        bridge_id = leg.args[1] if len(leg.args) > 1 else ""
        caller = bridge_id.removeprefix(CONVERSATION_PREFIX)
        is_caller = leg.channel_id == caller
        side: EndedBy = "caller" if is_caller else "agent"
        cause: int | None = None
        if is_ring(leg.channel_id):
            self.endpoints.adopt(leg.channel_id)
        try:
            bridges = {str(b["id"]): b for b in await rest.list_bridges()}
            members = bridges.get(bridge_id, {}).get("channels", [])
            if len(members) >= 2:
                while True:
                    item = await leg.next_event()
                    if isinstance(item, Event) and item.type in HANGUP_EVENTS:
                        cause = hangup_cause(item)
                        break
                members = [m for m in members if m != leg.channel_id]
            else:  # the other side left while no app was there
                side = "agent" if is_caller else "caller"
            # The first leg to go says who ended the call (the other one we hang up).
            self._adopted_ends.setdefault(bridge_id, side)
            for channel in {*members, leg.channel_id}:
                await quietly(rest.hangup(str(channel)))
            await quietly(rest.destroy_bridge(bridge_id))
            log.info("queue.adopted_conversation_ended", bridge=bridge_id)
        finally:
            self.endpoints.release(leg.channel_id)
            if is_caller:
                ended_by = self._adopted_ends.pop(bridge_id, "caller")
                self.shared.tell(caller, Ended(ended_by, cause if ended_by == "caller" else None))

    async def replacement(self, leg: CallContext) -> None:
        """A channel that took another's place in one of our bridges (a transfer's Local)."""
        replaced = leg.args[1] if len(leg.args) > 1 else ""
        conversation = next(
            (c for c in self.line.conversations() if c.leg.channel_id == replaced), None
        )
        if conversation is None:
            log.warning("queue.unknown_replacement", replaced=replaced)
            await quietly(self.shared.rest.hangup(leg.channel_id))
            return
        conversation.replace_agent_leg(leg)
        name = str(leg.channel.get("name", ""))
        self.shared.tell(conversation.call_id, Transferred(local_target(name), "agent"))
        async with self._replacement_added:
            self._replacements[name] = conversation
            self._replacement_added.notify_all()
        try:
            while True:
                item = await leg.next_event()
                if isinstance(item, Event) and item.type in HANGUP_EVENTS:
                    await conversation.end("agent", leg.channel_id)
                    return
        finally:
            self._replacements.pop(name, None)

    async def transfer_dial(self, leg: CallContext) -> None:
        """The dialling half of an agent's transfer: give it the call's annotation, go on.

        Its other half (``…;1``) replaces the agent in our bridge; that may show a moment later.
        """
        rest = self.shared.rest
        name = str(leg.channel.get("name", ""))
        partner = local_partner(name)
        conversation: Conversation | None = None
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(TRANSFER_GRACE), self._replacement_added:
                while (conversation := self._replacements.get(partner)) is None:
                    await self._replacement_added.wait()
        if conversation is None:
            log.warning("queue.transfer_without_call", channel=name)
        else:
            request = conversation.caller.request
            for header, value in request.sip_headers.items():
                await quietly(rest.set_var(leg.channel_id, header_variable(header), value))
            await quietly(rest.set_var(leg.channel_id, "CALLERID(num)", request.caller_number))
            await quietly(rest.set_var(leg.channel_id, "CALLERID(name)", request.caller_id_name))
            log.info("queue.transfer_annotated", agent=conversation.agent, channel=name)
        await quietly(rest.continue_in_dialplan(leg.channel_id))
