"""Issue #9 over real SIP: what the dialplan lets in, and what it lets out.

- A switchboard number in the bare country-code form (``492041700``) is the town's switchboard
  for origin resolution too; a configured 0800 service number reaches the app.
- Toll fraud: an agent's phone reaches only the configured targets and the other agents; an
  agent's blind transfer and a menu transfer only the configured targets. Refused numbers leave
  no INVITE towards the carrier: the test carrier (a real Asterisk) sees no channel arrive.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp
import pytest

from ari_app.errors import AriError
from ari_app.events import Event
from ari_app.listener import Listener
from stadtruf.asterisk.topology import ARI_USER
from stadtruf.testcall import TestCarrier
from tests.integration.conftest import Site
from tests.integration.phones import Phones
from tests.integration.support import (
    Observer,
    agents_online,
    eventually,
    on_channel,
    wait_until_idle,
)
from tests.integration.test_queue import queue_service, queued, talking

INTERNATIONAL = "00441632960123"
PREMIUM = "09001234567"


async def nothing_reaches_the_carrier(
    carrier: TestCarrier, observer: Observer, since: int, inbound: str = ""
) -> None:
    """No call arrived at the test carrier, and the ServiceCenter made no trunk channel other
    than the `inbound` one (the citizen's call, which came in over the trunk)."""
    await asyncio.sleep(1.0)  # an INVITE that was going to leave has left by now
    assert carrier.incoming.empty(), "a call reached the carrier"
    assert not observer.matching(
        lambda e: (
            e.type == "ChannelCreated"
            and str(e.raw["channel"]["name"]).startswith("PJSIP/carrier")
            and e.channel_id != inbound
        ),
        since=since,
    ), "the ServiceCenter dialled out over the trunk"


async def logged(site: Site, text: str) -> None:
    """The ServiceCenter's Asterisk log says `text` (why a call was refused)."""
    log = site.center.directory / "log" / "messages.log"
    await eventually(lambda: text in log.read_text(errors="replace"), timeout=5)


def destroyed_with(observer: Observer, name_prefix: str, since: int) -> list[int]:
    """Hang-up causes of the ServiceCenter's channels whose name starts with `name_prefix`."""
    return [
        int(e.raw.get("cause", 0))
        for e in observer.matching(
            lambda e: (
                e.type == "ChannelDestroyed"
                and str(e.raw["channel"]["name"]).startswith(name_prefix)
            ),
            since=since,
        )
    ]


async def test_bare_country_code_switchboard_is_the_towns_switchboard(
    site: Site, carrier: TestCarrier, observer: Observer, phones: Phones, tmp_path: Path
) -> None:
    # Bottrop's switchboard 02041 70-0 as 492041700, from a Duisburg number: Bottrop, not
    # Duisburg (the caller's area code).
    phones.behaviour["agent-101"] = "answer"
    async with queue_service(site, tmp_path, logged_in=("agent-101",)):
        since = observer.mark()
        call, _ = await queued(carrier, observer, "492041700", "0203555333")
        ring = await phones.next_answered()
        assert ring.agent == "agent-101"
        assert ring.origin_city == "Bottrop"
        assert ring.caller_id_name.startswith("[BOT] ")
        await talking(observer, since)
        await call.hangup()
        await eventually(lambda: ring.channel_id in phones.ended)


@pytest.mark.parametrize("dialled", ["08001150000", "+498001150000", "498001150000"])
async def test_a_configured_0800_service_number_is_answered(
    site: Site, app: object, carrier: TestCarrier, observer: Observer, dialled: str
) -> None:
    assert "08001150000" in site.config.service_center.service_numbers
    since = observer.mark()
    call = await carrier.call(dialled, caller="02041555901")
    channel = await observer.channel_of_caller("02041555901", since=since)
    # Answered by the app (Stasis), which plays the greeting.
    await observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since)
    await call.hangup()


async def dial_from_agent_phone(phones: Phones, agent: str, number: str) -> str:
    """The agent's phone places a call to `number` through its ServiceCenter account."""
    channel = await phones.rest.originate(
        f"PJSIP/{number}@{agent}", app="testphones", caller_id=f"<{agent}>", timeout=15
    )
    return str(channel["id"])


async def gone(phones: Phones, channel_id: str) -> None:
    """The phone's channel has ended."""
    async with asyncio.timeout(10):
        while any(c["id"] == channel_id for c in await phones.rest.list_channels()):
            await asyncio.sleep(0.1)


async def test_an_agent_phone_reaches_only_configured_targets_and_agents(
    site: Site, carrier: TestCarrier, observer: Observer, phones: Phones
) -> None:
    await agents_online(observer, "agent-101", "agent-102")
    for number in (INTERNATIONAL, PREMIUM, "0203999999"):
        since = observer.mark()
        channel = await dial_from_agent_phone(phones, "agent-101", number)
        await gone(phones, channel)
        destroyed = await observer.wait_for(
            lambda e: (
                e.type == "ChannelDestroyed"
                and str(e.raw["channel"]["name"]).startswith("PJSIP/agent-101")
            ),
            since=since,
        )
        # Refused in the dialplan: cause 21 (call rejected), SIP 403 to the phone.
        assert int(destroyed.raw["cause"]) == 21, number
        await logged(site, f"stadtruf: refused {number} from PJSIP/agent-101")
        assert len(destroyed_with(observer, "PJSIP/agent-101", since)) == 1
        await nothing_reaches_the_carrier(carrier, observer, since)

    # The same phone does reach an office of office_numbers over the trunk …
    since = observer.mark()
    channel = await dial_from_agent_phone(phones, "agent-101", "02032830")
    incoming = await asyncio.wait_for(carrier.incoming.get(), 15)
    assert incoming.raw["channel"]["dialplan"]["exten"] == "02032830"
    await carrier.rest.hangup(incoming.raw["channel"]["id"])
    await gone(phones, channel)

    # … and another agent, internally.
    channel = await dial_from_agent_phone(phones, "agent-101", "agent-102")
    await eventually(lambda: any(r.agent == "agent-102" for r in phones.rings), timeout=10)
    with contextlib.suppress(AriError):
        await phones.rest.hangup(channel)
    await gone(phones, channel)


@pytest.mark.parametrize("target", [INTERNATIONAL, PREMIUM])
async def test_an_agents_transfer_to_an_unconfigured_number_is_refused(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
    target: str,
) -> None:
    phones.behaviour["agent-101"] = "answer"
    async with queue_service(site, tmp_path, logged_in=("agent-101",)):
        since = observer.mark()
        call, inbound = await queued(carrier, observer, "02041700", "02041555911")
        ring = await phones.next_answered()
        await talking(observer, since)
        # The agent transfers (SIP REFER) to a number no allow-list names.
        await phones.rest.continue_in_dialplan(
            ring.channel_id, context="agent-transfer", extension=target, priority=1
        )
        await nothing_reaches_the_carrier(carrier, observer, since, inbound)
        # Refused with the REFER itself: the transfer never started (no Local channel).
        assert not observer.matching(
            lambda e: (
                e.type == "ChannelCreated" and str(e.raw["channel"]["name"]).startswith("Local/")
            ),
            since=since,
        )
        await logged(site, f"blind transfer to '{target}@stadtruf-agent-transfer' but target does")
        # The test phone hangs up after a failed transfer; the caller's call then ends.
        with contextlib.suppress(AriError):
            await phones.rest.hangup(ring.channel_id)
        await eventually(lambda: ring.channel_id in phones.ended)
        await call.hangup()


async def test_an_agent_transfers_to_another_agent_internally(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    phones.behaviour.update({"agent-101": "answer", "agent-102": "answer"})
    async with queue_service(site, tmp_path, logged_in=("agent-101",)):
        since = observer.mark()
        call, inbound = await queued(carrier, observer, "02041700", "02041555931")
        first = await phones.next_answered()
        assert first.agent == "agent-101"
        await talking(observer, since)
        await phones.rest.continue_in_dialplan(
            first.channel_id, context="agent-transfer", extension="agent-102", priority=1
        )
        second = await phones.next_answered()
        # The colleague's phone rings with the call's annotation, nothing goes out the trunk.
        assert (second.agent, second.origin_city, second.topic) == (
            "agent-102",
            "Bottrop",
            "vermittlung",
        )
        assert second.caller_number == "02041555931"
        await nothing_reaches_the_carrier(carrier, observer, since, inbound)
        await call.hangup()
        await eventually(lambda: second.channel_id in phones.ended)


class _StasisStandIn(Listener):
    """Plays the app `stadtruf` for one purpose: send each call on into `stadtruf-transfer`
    with the number the test names, as a menu transfer does (ARI continue)."""

    def __init__(self, session: aiohttp.ClientSession, site: Site, number: str) -> None:
        super().__init__(session, site.center.settings.ari_url, "stadtruf", ARI_USER, site.password)
        self.number = number

    async def handle(self, event: Event) -> None:
        if event.type == "StasisStart" and event.channel_id:
            await self.rest.answer(event.channel_id)
            await self.rest.continue_in_dialplan(
                event.channel_id, context="stadtruf-transfer", extension=self.number, priority=1
            )


@pytest.mark.parametrize("target", [INTERNATIONAL, PREMIUM, "0203999999"])
async def test_a_menu_transfer_to_an_unconfigured_number_is_refused(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    http: aiohttp.ClientSession,
    target: str,
) -> None:
    stand_in = _StasisStandIn(http, site, target)
    await stand_in.start()
    try:
        since = observer.mark()
        call = await carrier.call("02041700", caller="02041555921")
        channel = await observer.channel_of_caller("02041555921", since=since)
        destroyed = await observer.wait_for(on_channel(channel, "ChannelDestroyed"), since=since)
        assert int(destroyed.raw["cause"]) == 21  # refused by the dialplan, not dialled
        await logged(site, f"stadtruf: refused {target} from {destroyed.raw['channel']['name']}")
        await call.wait_ended()
        await nothing_reaches_the_carrier(carrier, observer, since, channel)
    finally:
        await stand_in.close()
    channels, _ = await wait_until_idle(carrier.rest)
    assert not channels
