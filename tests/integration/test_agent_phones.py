"""The agents' phones register, and an agent leg carries the annotation as SIP headers."""

from __future__ import annotations

import asyncio

from tests.integration.conftest import TEST_AGENTS, Site
from tests.integration.phones import Phones
from tests.integration.support import Observer, eventually


async def test_agent_phones_register_and_receive_annotated_calls(
    site: Site, observer: Observer, phones: Phones
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

    phones.behaviour["agent-102"] = "answer"
    leg = await rest.originate(
        "PJSIP/agent-102",
        app="observer",
        caller_id='"[BOT] Kfz-Zulassung" <02041555201>',
        variables={
            "PJSIP_HEADER(add,X-Origin-City)": "Bottrop",
            "PJSIP_HEADER(add,X-Topic)": "kfz",
        },
    )
    ring = await phones.next_answered(10)
    assert ring.agent == "agent-102"
    assert ring.caller_id_name == "[BOT] Kfz-Zulassung"
    assert ring.origin_city == "Bottrop"
    assert ring.topic == "kfz"
    await eventually(
        lambda: any(
            e.type == "ChannelStateChange"
            and e.channel_id == leg["id"]
            and e.raw["channel"]["state"] == "Up"
            for e in observer.events
        )
    )
    await rest.hangup(leg["id"])
