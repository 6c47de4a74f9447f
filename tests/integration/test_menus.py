"""Issue #3 over real SIP: origin, menus, annotation and transfer with the sample config."""

from __future__ import annotations

import asyncio

from ari_app.application import StasisApplication
from ari_app.handoff import queue_bridge_id
from stadtruf.commands.simulate import simulate
from stadtruf.config.model import Prompt
from stadtruf.core.annotation import header_variable
from stadtruf.core.callflow import Arrival
from stadtruf.core.menu import QueueRoute
from stadtruf.core.prompts import media_uri
from stadtruf.testcall import OutboundCall, TestCarrier
from tests.integration.conftest import Site
from tests.integration.support import Observer, on_channel


def prompt_started(channel: str, prompt: Prompt, language: str = "de"):
    uri = media_uri(prompt, language)
    return lambda e: (
        e.type == "PlaybackStarted"
        and e.channel_id == channel
        and e.raw["playback"]["media_uri"] == uri
    )


async def press(call: OutboundCall, observer: Observer, channel: str, digit: str) -> int:
    """Press a key and wait until the ServiceCenter saw it; returns the mark before it."""
    since = observer.mark()
    await call.dtmf(digit)
    await observer.wait_for(
        lambda e: on_channel(channel, "ChannelDtmfReceived")(e) and e.digit == digit,
        since=since,
    )
    return since


async def test_bottrop_caller_on_115_reaches_kfz_with_annotation(
    site: Site, app: StasisApplication, carrier: TestCarrier, observer: Observer
) -> None:
    bottrop = site.config.clients["bottrop"]
    since = observer.mark()
    call = await carrier.call("115", caller="02041555001")
    channel = await observer.channel_of_caller("02041555001", since=since)
    await observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since)

    mark = await press(call, observer, channel, "2")
    kfz_menu = bottrop.menu.menus["kfz"]
    await observer.wait_for(prompt_started(channel, kfz_menu.prompt), since=mark)
    mark = await press(call, observer, channel, "1")
    await observer.wait_for(
        lambda e: (
            on_channel(channel, "ChannelEnteredBridge")(e) and e.bridge_id == queue_bridge_id("kfz")
        ),
        since=mark,
    )

    rest = observer.rest
    assert await rest.get_var(channel, "STADTRUF_CLIENT") == "bottrop"
    assert await rest.get_var(channel, "STADTRUF_TOPIC") == "kfz"
    assert await rest.get_var(channel, "STADTRUF_ROUTE") == "queue:kfz"
    reason = await rest.get_var(channel, "STADTRUF_ORIGIN_REASON")
    assert reason is not None and "02041" in reason
    assert (await rest.get_channel(channel))["caller"]["name"] == "[BOT] Kfz-Zulassung"
    await call.hangup()


async def test_call_forwarded_from_dinslakens_switchboard_gets_dinslakens_menu(
    site: Site, app: StasisApplication, carrier: TestCarrier, observer: Observer
) -> None:
    dinslaken = site.config.clients["dinslaken"]
    since = observer.mark()
    # Dinslaken's PBX forwards its switchboard to the center; the caller is from Bottrop's
    # area code, which must not matter: the Diversion header decides.
    call = await carrier.call("020394000", caller="02041555002", diversion="02064660")
    channel = await observer.channel_of_caller("02041555002", since=since)
    main = dinslaken.menu.menus[dinslaken.menu.start]
    await observer.wait_for(prompt_started(channel, main.prompt), since=since)
    assert await observer.rest.get_var(channel, "STADTRUF_CLIENT") == "dinslaken"
    reason = await observer.rest.get_var(channel, "STADTRUF_ORIGIN_REASON")
    assert reason is not None and "umgeleitet" in reason
    await call.hangup()


async def test_withheld_caller_is_asked_for_the_town(
    site: Site, app: StasisApplication, carrier: TestCarrier, observer: Observer
) -> None:
    town_menu = site.config.service_center.unknown_caller.town_menu
    assert town_menu is not None
    bottrop = site.config.clients["bottrop"]
    since = observer.mark()
    call = await carrier.call("115", caller=None, withheld=True)
    channel = await observer.channel_of_caller("anonymous", since=since)
    await observer.wait_for(prompt_started(channel, town_menu.menus["main"].prompt), since=since)
    mark = await press(call, observer, channel, "3")  # Bottrop
    assert bottrop.greeting is not None
    await observer.wait_for(prompt_started(channel, bottrop.greeting), since=mark)
    assert await observer.rest.get_var(channel, "STADTRUF_CLIENT") == "bottrop"
    # A key during Bottrop's greeting stops it and routes at once (regression: a late event of
    # the town menu's prompt once passed for this prompt's end, and barge-in did not stop it).
    mark = await press(call, observer, channel, "0")
    await observer.wait_for(
        lambda e: (
            on_channel(channel, "ChannelEnteredBridge")(e)
            and e.bridge_id == queue_bridge_id("vermittlung")
        ),
        since=mark,
    )
    await call.hangup()


async def test_star_goes_back_and_hash_repeats(
    site: Site, app: StasisApplication, carrier: TestCarrier, observer: Observer
) -> None:
    bottrop = site.config.clients["bottrop"]
    main = bottrop.menu.menus["main"]
    since = observer.mark()
    call = await carrier.call("02041700", caller="02041555003")
    channel = await observer.channel_of_caller("02041555003", since=since)
    await observer.wait_for(prompt_started(channel, main.prompt), since=since)

    mark = await press(call, observer, channel, "2")
    await observer.wait_for(prompt_started(channel, bottrop.menu.menus["kfz"].prompt), since=mark)
    mark = await press(call, observer, channel, "*")
    await observer.wait_for(prompt_started(channel, main.prompt), since=mark)
    mark = await press(call, observer, channel, "#")
    await observer.wait_for(prompt_started(channel, main.prompt), since=mark)
    await call.hangup()


async def test_invalid_digit_plays_the_invalid_prompt_and_the_menu_again(
    site: Site, app: StasisApplication, carrier: TestCarrier, observer: Observer
) -> None:
    bottrop = site.config.clients["bottrop"]
    main = bottrop.menu.menus["main"]
    assert main.invalid_prompt is not None
    since = observer.mark()
    call = await carrier.call("02041700", caller="02041555004")
    channel = await observer.channel_of_caller("02041555004", since=since)
    await observer.wait_for(prompt_started(channel, main.prompt), since=since)
    mark = await press(call, observer, channel, "9")
    await observer.wait_for(prompt_started(channel, main.invalid_prompt), since=mark)
    await observer.wait_for(prompt_started(channel, main.prompt), since=mark)
    await call.hangup()


async def test_transfer_to_the_waste_office_carries_the_headers(
    site: Site, app: StasisApplication, carrier: TestCarrier, observer: Observer
) -> None:
    since = observer.mark()
    call = await carrier.call("02041700", caller="02041555005", caller_name="Erika")
    channel = await observer.channel_of_caller("02041555005", since=since)
    await observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since)
    await press(call, observer, channel, "3")  # Abfall und Sperrmüll -> 02041 7035-0

    incoming = await asyncio.wait_for(carrier.incoming.get(), 30)
    office = incoming.raw["channel"]
    assert office["dialplan"]["exten"] == "0204170350"
    assert office["channelvars"]["X_ORIGIN_CITY"] == "Bottrop"
    assert office["channelvars"]["X_TOPIC"] == "abfall"
    assert office["caller"]["name"].startswith("[BOT] Abfall")
    assert office["caller"]["number"] == "02041555005"
    await carrier.rest.answer(office["id"])
    await carrier.rest.hangup(office["id"])
    await call.wait_ended()


async def test_english_chosen_in_the_town_menu_as_simulate_says(
    site: Site, app: StasisApplication, carrier: TestCarrier, observer: Observer
) -> None:
    """115 withheld, English in the town menu, Duisburg, 0: the live call and `simulate` agree
    on route, annotation and language (regression: simulate went on in German)."""
    town_menu = site.config.service_center.unknown_caller.town_menu
    assert town_menu is not None
    duisburg = site.config.clients["duisburg"]
    assert duisburg.greeting is not None
    since = observer.mark()
    call = await carrier.call("115", caller=None, withheld=True)
    channel = await observer.channel_of_caller("anonymous", since=since)
    await observer.wait_for(prompt_started(channel, town_menu.menus["main"].prompt), since=since)
    live = await observer.rest.get_channel(channel)  # as the app got it: not yet annotated

    mark = await press(call, observer, channel, "9")
    await observer.wait_for(
        prompt_started(channel, town_menu.menus["main_en"].prompt, "en"), since=mark
    )
    mark = await press(call, observer, channel, "1")
    await observer.wait_for(prompt_started(channel, duisburg.greeting, "en"), since=mark)
    mark = await press(call, observer, channel, "0")
    await observer.wait_for(
        lambda e: (
            on_channel(channel, "ChannelEnteredBridge")(e)
            and e.bridge_id == queue_bridge_id("vermittlung")
        ),
        since=mark,
    )

    # What simulate says for the same caller and keys …
    arrival = Arrival(
        dialled=live["dialplan"]["exten"],
        caller=live["caller"]["number"],
        diversion=live.get("caller_rdnis") or None,
        caller_name=live["caller"]["name"],
    )
    lines: list[str] = []
    expected = simulate(site.config, arrival, ["9", "1", "0"], out=lines.append)
    assert expected.route == QueueRoute("vermittlung", menu="main")
    assert expected.language == "en" and expected.client == "duisburg"
    marks = expected.annotation
    assert marks is not None and "(EN)" in marks.caller_id_name
    # … is what the live call got.
    rest = observer.rest
    assert await rest.get_var(channel, "STADTRUF_ROUTE") == "queue:vermittlung"
    assert await rest.get_var(channel, "CHANNEL(language)") == "en"
    for name, value in marks.channel_variables.items():
        assert await rest.get_var(channel, name) == value, name
    for header, value in marks.sip_headers.items():
        inherited = header_variable(header).lstrip("_")  # read back without the __ marker
        assert await rest.get_var(channel, inherited) == value, header
    assert (await rest.get_channel(channel))["caller"]["name"] == marks.caller_id_name
    assert f"  Anrufername: {marks.caller_id_name}" in lines
    await call.hangup()
