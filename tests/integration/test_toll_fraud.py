"""Issue #13 over real SIP: a cap on concurrent outbound legs over the trunk.

Even a configured office number must not be dialled in parallel without end (a hijacked agent
phone, a loop of transfers): `[stadtruf-outbound-cap]` allows `STADTRUF_MAX_OUTBOUND` legs out
at once (default: the call limit). The test sets it to 1 at run time (an Asterisk global):
the first call from an agent's phone to an office goes out, a second one at the same time is
refused with cause 34 before any INVITE leaves, and Asterisk's log says why.
"""

from __future__ import annotations

import asyncio

from stadtruf.testcall import TestCarrier
from tests.integration.conftest import Site
from tests.integration.phones import Phones
from tests.integration.support import Observer, agents_online
from tests.integration.test_dialplan import (
    dial_from_agent_phone,
    gone,
    logged,
    nothing_reaches_the_carrier,
)

OFFICE = "02032830"  # in the sample config's office_numbers


async def test_outbound_legs_over_the_trunk_are_capped(
    site: Site, carrier: TestCarrier, observer: Observer, phones: Phones
) -> None:
    await agents_online(observer, "agent-101", "agent-102")
    await observer.rest.set_global_var("STADTRUF_MAX_OUTBOUND", "1")
    try:
        first = await dial_from_agent_phone(phones, "agent-101", OFFICE)
        incoming = await asyncio.wait_for(carrier.incoming.get(), 15)  # ringing at the office
        since = observer.mark()
        second = await dial_from_agent_phone(phones, "agent-102", OFFICE)
        await gone(phones, second)
        destroyed = await observer.wait_for(
            lambda e: (
                e.type == "ChannelDestroyed"
                and str(e.raw["channel"]["name"]).startswith("PJSIP/agent-102")
            ),
            since=since,
        )
        assert int(destroyed.raw["cause"]) == 34
        await logged(site, "(outbound_limit_reached): 2 bei Grenze 1")
        await nothing_reaches_the_carrier(carrier, observer, since)
        await carrier.rest.hangup(incoming.raw["channel"]["id"])
        await gone(phones, first)
    finally:
        await observer.rest.set_global_var("STADTRUF_MAX_OUTBOUND", "")
