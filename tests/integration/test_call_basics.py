"""Issue #2: a real SIP call to 115 through a real Asterisk 22 reaches the Stasis app."""

from __future__ import annotations

import pytest

from ari_app.application import StasisApplication
from stadtruf.core.fallback import NOT_READY, mirror_device
from stadtruf.core.prompts import media_uri
from stadtruf.testcall import CallFailed, TestCarrier
from tests.integration.conftest import TEST_AGENTS, Site
from tests.integration.support import Observer, eventually, on_channel


async def test_115_is_answered_greeted_and_hears_digits(
    site: Site, app: StasisApplication, carrier: TestCarrier, observer: Observer
) -> None:
    bottrop = site.config.clients["bottrop"]
    since = observer.mark()
    call = await carrier.call("115", caller="02041123456")
    channel = await observer.channel_of_caller("02041123456", since=since)

    started = await observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since)
    assert bottrop.greeting is not None  # a 115 call from 02041... is Bottrop's
    assert started.raw["playback"]["media_uri"] == media_uri(bottrop.greeting, "de")

    await call.dtmf("2")
    dtmf = await observer.wait_for(on_channel(channel, "ChannelDtmfReceived"), since=since)
    assert dtmf.digit == "2"
    # Barge-in: the digit stopped the greeting.
    await observer.wait_for(on_channel(channel, "PlaybackFinished"), since=since)

    await call.hangup()
    await observer.wait_for(on_channel(channel, "ChannelDestroyed"), since=since)
    await eventually(lambda: app.active_calls == 0)


async def test_unknown_number_is_refused_without_answer(
    app: StasisApplication, carrier: TestCarrier, observer: Observer
) -> None:
    since = observer.mark()
    with pytest.raises(CallFailed, match="cause 1"):
        await carrier.call("0999123456", caller="02041123457", answer_timeout=5)
    assert not observer.matching(lambda e: e.type == "StasisStart", since=since)


async def test_without_the_app_and_nobody_ready_the_caller_is_held_not_sent_away(
    site: Site, carrier: TestCarrier, observer: Observer
) -> None:
    # Issue 11's fail-open with no agent ready (test_fallback.py rings them through): the call
    # is answered and held with an apology and music, never silence, never "goodbye".
    for agent in TEST_AGENTS:
        await observer.rest.set_device_state(mirror_device(agent), NOT_READY)
    since = observer.mark()
    log = site.center.log_file
    # The log shows the caller's number shortened (docs/security.md): count this call's line.
    holding = "no agent free for 02041…"
    before = log.read_text(errors="replace").count(holding)
    call = await carrier.call("115", caller="02041123458")
    channel = await observer.channel_of_caller("02041123458", since=since)
    await eventually(lambda: log.read_text(errors="replace").count(holding) > before, timeout=10)
    assert "02041123458" not in log.read_text(errors="replace")
    assert not call.ended.is_set()
    await call.hangup()
    await observer.wait_for(on_channel(channel, "ChannelDestroyed"), since=since)
