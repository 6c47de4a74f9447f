"""Issue #4 groundwork: the agents' phones register, and an agent leg carries the annotation."""

from __future__ import annotations

import asyncio

import aiohttp

from ari_app.events import Event
from ari_app.listener import Listener
from stadtruf.asterisk.topology import ARI_USER
from tests.integration.conftest import TEST_AGENTS, Site
from tests.integration.support import Observer, eventually


class Phones(Listener):
    """The agents' phones: calls from the ServiceCenter arrive here (Stasis app testphones)."""

    def __init__(self, session: aiohttp.ClientSession, site: Site) -> None:
        super().__init__(
            session, site.phones.settings.ari_url, "testphones", ARI_USER, site.password
        )
        self.ringing: asyncio.Queue[Event] = asyncio.Queue()

    async def handle(self, event: Event) -> None:
        if event.type == "StasisStart":
            self.ringing.put_nowait(event)


async def test_agent_phones_register_and_receive_annotated_calls(
    site: Site, http: aiohttp.ClientSession, observer: Observer
) -> None:
    rest = observer.rest
    states: dict[str, str] = {}

    async def all_online() -> bool:
        for agent in TEST_AGENTS:
            states[agent] = (await rest.get_endpoint("PJSIP", agent))["state"]
        return all(state == "online" for state in states.values())

    async with asyncio.timeout(20):
        while not await all_online():
            await asyncio.sleep(0.2)

    phones = Phones(http, site)
    await phones.start()
    try:
        leg = await rest.originate(
            "PJSIP/agent-102",
            app="observer",
            caller_id='"[BOT] Kfz-Zulassung" <02041555201>',
            variables={
                "PJSIP_HEADER(add,X-Origin-City)": "Bottrop",
                "PJSIP_HEADER(add,X-Topic)": "kfz",
            },
        )
        ringing = await asyncio.wait_for(phones.ringing.get(), 10)
        phone = ringing.raw["channel"]
        assert phone["name"].startswith("PJSIP/agent-102-")
        assert phone["caller"]["name"] == "[BOT] Kfz-Zulassung"
        assert phone["channelvars"]["X_ORIGIN_CITY"] == "Bottrop"
        assert phone["channelvars"]["X_TOPIC"] == "kfz"
        await phones.rest.answer(phone["id"])
        await eventually(
            lambda: any(
                e.type == "ChannelStateChange"
                and e.channel_id == leg["id"]
                and e.raw["channel"]["state"] == "Up"
                for e in observer.events
            )
        )
        await rest.hangup(leg["id"])
    finally:
        await phones.close()
