"""Issue 9, defect 4: past the concurrent-call limit a call is refused at once and loudly.

The session's ServiceCenter runs with the limit rendered from the sample config (what the RTP
range carries); for this test it is lowered to 3 through the same dialplan global, so that
four calls show the limit instead of 2,501.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from ari_app.application import StasisApplication
from stadtruf.asterisk.capacity import MAX_CALLS_VARIABLE
from stadtruf.testcall import CallFailed, OutboundCall, TestCarrier
from tests.integration.conftest import Site
from tests.integration.support import Observer, eventually, on_channel

LIMIT = 3
# Q.850 34 "circuit/channel congestion": what Asterisk sends as SIP 503 and maps back from it.
CONGESTION = 34


@pytest.fixture
async def small_limit(site: Site, observer: Observer) -> AsyncIterator[None]:
    configured = await observer.rest.get_global_var(MAX_CALLS_VARIABLE)
    # The rendered limit is the config's: what 20000–29999 carries.
    assert configured == str(site.config.service_center.capacity.call_limit) == "2500"
    await observer.rest.set_global_var(MAX_CALLS_VARIABLE, str(LIMIT))
    try:
        yield
    finally:
        await observer.rest.set_global_var(MAX_CALLS_VARIABLE, configured)


async def test_past_the_limit_the_carrier_gets_503_at_once_and_the_log_says_why(
    site: Site,
    small_limit: None,
    app: StasisApplication,
    carrier: TestCarrier,
    observer: Observer,
) -> None:
    since = observer.mark()
    calls: list[OutboundCall] = []
    try:
        for i in range(LIMIT):
            calls.append(await carrier.call("115", caller=f"0203777100{i}"))
        await eventually(lambda: app.active_calls == LIMIT)

        started = time.monotonic()
        with pytest.raises(CallFailed, match=f"cause {CONGESTION}"):
            await carrier.call("115", caller="02037771009", answer_timeout=5)
        assert time.monotonic() - started < 1.0

        # Refused before answer and before the app: no StasisStart, nothing left ringing.
        refused = await observer.channel_of_caller("02037771009", since=since)
        destroyed = await observer.wait_for(on_channel(refused, "ChannelDestroyed"), since=since)
        assert destroyed.raw["cause"] == CONGESTION
        assert not observer.matching(on_channel(refused, "StasisStart"), since=since)
        assert len(await observer.rest.list_channels()) == LIMIT
        assert len(await carrier.rest.list_channels()) == LIMIT
        log = site.center.log_file.read_text(errors="replace")
        assert "Kapazitätsgrenze erreicht (capacity_limit_reached)" in log
        assert "von 02037… an 115 mit SIP 503 abgewiesen" in log  # shortened (privacy)
        assert "02037771009" not in log

        # A free place is taken again at once: once the ServiceCenter has let go of the call
        # (the carrier's hang-up returns before its BYE is through, and until then the call
        # still counts).
        freed = await observer.channel_of_caller(f"0203777100{LIMIT - 1}", since=since)
        await calls.pop().hangup()
        await observer.wait_for(on_channel(freed, "ChannelDestroyed"), since=since)
        calls.append(await carrier.call("115", caller="02037771008"))
    finally:
        for call in calls:
            await call.hangup()
    await eventually(lambda: app.active_calls == 0)
