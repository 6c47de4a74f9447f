"""The test caller: citizens' calls placed through the test carrier's Asterisk, over ARI.

The carrier instance (asterisk-docker/testcaller/) sends a real INVITE over the SIP trunk to
the ServiceCenter, with the citizen's caller ID, a Diversion header or a withheld number, and
sends RFC 4733 DTMF on the answered call. Used by the integration tests and by `stadtruf call`.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp

from ari_app.errors import AriNotFound
from ari_app.events import Event
from ari_app.listener import Listener

CARRIER_APP = "testcarrier"
_ENDED = frozenset({"ChannelDestroyed", "StasisEnd"})


class CallFailed(RuntimeError):
    """The ServiceCenter did not answer (the message says how the call ended)."""


@dataclass
class OutboundCall:
    """One call from the carrier towards the ServiceCenter."""

    carrier: TestCarrier
    channel_id: str
    number: str
    events: list[Event] = field(default_factory=list)
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    hangup_cause: int | None = None

    async def dtmf(self, digits: str, *, between_ms: int = 150) -> None:
        await self.carrier.rest.send_dtmf(self.channel_id, digits, between_ms=between_ms)

    async def hangup(self) -> None:
        with contextlib.suppress(AriNotFound):
            await self.carrier.rest.hangup(self.channel_id)
        await self.wait_ended()

    async def wait_ended(self, timeout: float = 10.0) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            await self.ended.wait()


class TestCarrier(Listener):
    """Connects to the carrier's ARI as the Stasis app `testcarrier` and places calls."""

    __test__ = False  # not a pytest test class

    def __init__(self, session: aiohttp.ClientSession, url: str, user: str, password: str):
        super().__init__(session, url, CARRIER_APP, user, password)
        self._calls: dict[str, OutboundCall] = {}
        self._waiters: dict[str, list[tuple[Callable[[Event], bool], asyncio.Future[Event]]]] = (
            defaultdict(list)
        )
        self.incoming: asyncio.Queue[Event] = asyncio.Queue()  # calls sent out by the center

    async def handle(self, event: Event) -> None:
        channel_id = event.channel_id
        if channel_id is None:
            return
        call = self._calls.get(channel_id)
        if call is None:
            if event.type == "StasisStart":
                self.incoming.put_nowait(event)
            return
        call.events.append(event)
        if event.type == "ChannelDestroyed":
            call.hangup_cause = event.raw.get("cause")
        if event.type in _ENDED:
            call.ended.set()
        for predicate, future in list(self._waiters[channel_id]):
            if not future.done() and predicate(event):
                future.set_result(event)

    async def call(
        self,
        number: str,
        *,
        caller: str | None = "02041123456",
        caller_name: str = "",
        diversion: str | None = None,
        withheld: bool = False,
        answer_timeout: float = 15.0,
    ) -> OutboundCall:
        """Dial `number` at the ServiceCenter; return once it answered, or raise CallFailed."""
        channel_id = f"tc-{uuid.uuid4()}"
        call = OutboundCall(self, channel_id, number)
        self._calls[channel_id] = call
        answered = self._wait(channel_id, lambda e: e.type == "StasisStart")
        variables: dict[str, str] = {}
        if diversion:
            # A town PBX forwarding its switchboard: PJSIP sends this as a Diversion header.
            variables["REDIRECTING(from-num)"] = diversion
            variables["REDIRECTING(reason)"] = "unconditional"
            variables["REDIRECTING(count)"] = "1"
        if withheld:
            # PJSIP builds the outgoing From/P-Asserted-Identity from the connected line: with
            # a number, it goes in P-Asserted-Identity with Privacy: id, From is anonymous (CLIR).
            variables["CALLERID(pres)"] = "prohib"
            variables["CONNECTEDLINE(pres)"] = "prohib"
        caller_id = f'"{caller_name}" <{caller}>' if caller else None
        await self.rest.originate(
            f"PJSIP/{number}@servicecenter",
            app=CARRIER_APP,
            caller_id=caller_id,
            variables=variables or None,
            channel_id=channel_id,
            timeout=int(answer_timeout),
        )
        # Both as waiters on the call's events, so one wait covers either outcome.
        ended = self._wait(channel_id, lambda e: e.type in _ENDED)
        done, _ = await asyncio.wait(
            {answered, ended}, timeout=answer_timeout + 2, return_when=asyncio.FIRST_COMPLETED
        )
        ended.cancel()
        if answered in done:
            return call
        answered.cancel()
        raise CallFailed(
            f"{number} was not answered (hangup cause {call.hangup_cause})"
            if call.ended.is_set()
            else f"{number} was not answered within {answer_timeout:.0f} s"
        )

    def _wait(self, channel_id: str, predicate: Callable[[Event], bool]) -> asyncio.Future[Event]:
        future: asyncio.Future[Event] = asyncio.get_running_loop().create_future()
        self._waiters[channel_id].append((predicate, future))
        return future
