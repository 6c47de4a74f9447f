"""Issue #2: a real SIP call to 115 through a real Asterisk 22 reaches the Stasis app."""

from __future__ import annotations

import pytest

from ari_app.application import StasisApplication
from stadtruf.core.prompts import media_uri
from stadtruf.testcall import CallFailed, TestCarrier
from tests.integration.conftest import Site
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


async def test_without_the_app_the_caller_hears_an_apology(
    carrier: TestCarrier, observer: Observer
) -> None:
    since = observer.mark()
    call = await carrier.call("115", caller="02041123458")
    channel = await observer.channel_of_caller("02041123458", since=since)
    played = await observer.wait_for(
        on_channel(channel, "ChannelDestroyed"), since=since, timeout=15
    )
    assert played
    await call.wait_ended()
