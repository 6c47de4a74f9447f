"""The agents' phones in the tests: a third Asterisk whose Stasis app `testphones` we drive.

Each agent's phone behaves as the test says: `answer` (picks up at once), `ring` (rings until
the ServiceCenter gives up) or `busy` (486 Busy Here). Every ring is recorded with its time and
the INVITE's annotation (caller-ID name, X-Origin-City, X-Topic), in order.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass
from typing import Literal

import aiohttp

from ari_app.errors import AriError
from ari_app.events import Event
from ari_app.listener import Listener
from stadtruf.asterisk.topology import ARI_USER
from tests.integration.conftest import Site

Behaviour = Literal["answer", "ring", "busy"]


@dataclass(frozen=True)
class Ring:
    at: float  # time.monotonic()
    agent: str
    channel_id: str  # on the phones' Asterisk
    caller_id_name: str
    caller_number: str
    origin_city: str
    topic: str


class Phones(Listener):
    def __init__(self, session: aiohttp.ClientSession, site: Site) -> None:
        super().__init__(
            session, site.phones.settings.ari_url, "testphones", ARI_USER, site.password
        )
        self.behaviour: dict[str, Behaviour] = {}
        self.rings: list[Ring] = []
        self.answered: asyncio.Queue[Ring] = asyncio.Queue()
        self.ended: set[str] = set()
        self._changed = asyncio.Condition()

    async def handle(self, event: Event) -> None:
        if event.type == "StasisStart":
            channel = event.raw["channel"]
            agent = str(channel["name"]).removeprefix("PJSIP/").rsplit("-", 1)[0]
            variables = channel.get("channelvars", {})
            ring = Ring(
                time.monotonic(),
                agent,
                str(channel["id"]),
                str(channel["caller"]["name"]),
                str(channel["caller"]["number"]),
                str(variables.get("X_ORIGIN_CITY", "")),
                str(variables.get("X_TOPIC", "")),
            )
            self.rings.append(ring)
            behaviour = self.behaviour.get(agent, "ring")
            with contextlib.suppress(AriError):  # the ServiceCenter may cancel meanwhile
                if behaviour == "answer":
                    await self.rest.answer(ring.channel_id)
                    self.answered.put_nowait(ring)
                elif behaviour == "busy":
                    await self.rest.hangup(ring.channel_id, reason="busy")
                else:
                    await self.rest.ring(ring.channel_id)
        elif event.type in ("StasisEnd", "ChannelDestroyed") and event.channel_id:
            self.ended.add(event.channel_id)
        async with self._changed:
            self._changed.notify_all()

    def reset(self) -> None:
        """Forget the last test's rings and behaviours (every phone rings by default)."""
        self.behaviour.clear()
        self.rings.clear()
        self.ended.clear()
        self.answered = asyncio.Queue()

    def rings_of(self, agent: str) -> list[Ring]:
        return [r for r in self.rings if r.agent == agent]

    async def next_answered(self, timeout: float = 20.0) -> Ring:
        return await asyncio.wait_for(self.answered.get(), timeout)

    async def hangup(self, ring: Ring) -> None:
        with contextlib.suppress(AriError):
            await self.rest.hangup(ring.channel_id)
