"""The ARI call driver (`ari_app.call`) against FakeAri: it only translates, in order.

Every decision is the call flow's (tested in test_callflow*.py); here: ARI events become flow
events, flow effects become the right ARI requests, timers and playbacks are tracked, the
life events reach the sink with the injected clock, and a caller who leaves mid-request ends
the call quietly.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog

from ari_app.application import CallSignal
from ari_app.call import TRANSFER_CONTEXT, _loop_timers, log_happened
from ari_app.errors import AriNotFound
from stadtruf.config import load
from stadtruf.core.lifecycle import Arrived, Ended, Happened, KeyPressed, RouteChosen
from tests.support.ari_caller import CHANNEL, OPEN_TIME, AriCaller, channel_event

ROOT = Path(__file__).parents[2]
CONFIG = load(ROOT / "config")
BOTTROP = "02041700"


def not_found() -> AriNotFound:
    return AriNotFound(404, "Channel not found", "POST", "/channels/x/answer")


async def test_a_call_is_answered_played_and_queued_in_order() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001", caller_name="Erika")
    await caller.run(["2", "1"])
    names = caller.ari.names()
    assert names[0] == "answer"
    assert names.index("answer") < names.index("play")
    (first, *_) = caller.ari.calls("play")
    assert first["channel_id"] == CHANNEL and first["lang"] == "de"
    assert len(first["media"]) == 2  # greeting, then the menu
    assert caller.variables["CALLERID(name)"] == "[BOT] Kfz-Zulassung · Erika"
    (request,) = caller.handoff.requests
    assert request.topic == "kfz" and request.client_id == "bottrop"
    assert request.dialled == "switchboard" and request.caller_number == "02041555001"


async def test_life_events_reach_the_sink_with_the_injected_clock() -> None:
    start = int(OPEN_TIME)  # a time the line is open (the flow reads the clock at arrival)
    ticks = iter(range(start, start + 100))
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001", clock=lambda: next(ticks))
    await caller.run(["4"])
    # The first tick went to the arrival's opening-hours check.
    expected = range(start + 1, start + 1 + len(caller.happened))
    assert [h.at for h in caller.happened] == list(expected)
    assert {h.call_id for h in caller.happened} == {CHANNEL}
    assert caller.events[0] == Arrived(BOTTROP, "02041555001")
    assert KeyPressed("4", "main") in caller.events
    assert caller.events[-1] == RouteChosen("queue", "ordnungsamt", "ordnungsamt", "main", "digit")


async def test_a_key_during_the_prompt_stops_it() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    await caller.run(["2", "1"], barge_in=True)
    plays = [p["playback_id"] for p in caller.ari.calls("play")]
    stops = [s["playback_id"] for s in caller.ari.calls("stop_playback")]
    assert stops == plays  # both menu prompts were cut short by a key


async def test_a_stop_for_a_playback_already_gone_is_no_error() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    caller.ari.failures["stop_playback"] = not_found()
    await caller.run(["4"], barge_in=True)
    assert caller.handoff.requests[0].topic == "ordnungsamt"


async def test_silence_fires_the_timer_and_replays_the_menu() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    await caller.run(["t", "4"])
    assert caller.timers.started == [5.0, 5.0]
    assert len(caller.ari.calls("play")) == 2
    assert caller.handoff.requests[0].topic == "ordnungsamt"
    assert not caller.timers.running  # the second timer was cancelled by the key


async def test_a_transfer_continues_in_the_transfer_context_after_its_prompt() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    await caller.run(["3"])
    (transfer,) = caller.ari.calls("continue_in_dialplan")
    assert transfer == {
        "channel_id": CHANNEL,
        "context": TRANSFER_CONTEXT,
        "extension": "0204170350",
        "priority": 1,
    }
    names = caller.ari.names()
    assert names.index("continue_in_dialplan") > max(i for i, n in enumerate(names) if n == "play")
    assert caller.variables["STADTRUF_ROUTE"] == "transfer:0204170350"
    assert caller.events[-1] == Ended("transfer")


async def test_an_announcement_plays_then_hangs_up() -> None:
    rees = AriCaller(CONFIG, dialled="115", caller="02851555")
    await rees.run(["3"])
    assert rees.ari.names()[-1] == "hangup"
    assert rees.variables["STADTRUF_ROUTE"] == "announce"
    assert rees.events[-1] == Ended("menu")


async def test_the_language_is_set_on_the_channel_and_used_for_the_prompts() -> None:
    caller = AriCaller(CONFIG, dialled="115", caller="anonymous")
    await caller.run(["9", "1", "0"])
    assert caller.variables["CHANNEL(language)"] == "en"
    assert [p["lang"] for p in caller.ari.calls("play")] == ["de", "en", "en"]
    assert caller.handoff.requests[0].language == "en"


async def test_hanging_up_in_the_menu_ends_the_call_with_the_cause() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    task = asyncio.create_task(caller.flow(caller.call))
    await caller.ari.wait_for("play")
    caller.hang_up(cause=17)
    await task
    assert caller.events[-1] == Ended("caller", 17)
    assert "hangup" not in caller.ari.names() and not caller.handoff.requests


async def test_the_caller_gone_under_a_request_ends_the_call_quietly() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    caller.ari.failures["answer"] = not_found()
    await caller.flow(caller.call)  # no exception: the caller just left
    assert caller.ari.names() == ["answer"]
    assert caller.events[-1] == Ended("caller")


async def test_other_events_and_signals_are_not_for_the_menu() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    task = asyncio.create_task(caller.flow(caller.call))
    await caller.ari.wait_for("play")
    caller.send(CallSignal())
    caller.send(channel_event("ChannelVarset", variable="X", value="1"))
    caller.send(channel_event("ChannelDtmfReceived"))  # no digit
    caller.send(channel_event("PlaybackFinished", playback={"id": "not-ours"}))
    caller.send(channel_event("ChannelDtmfReceived", digit="4"))
    await caller.ari.wait_for("set_var", 1)
    await asyncio.wait_for(task, 2)
    assert [e for e in caller.events if isinstance(e, KeyPressed)] == [KeyPressed("4", "main")]
    assert caller.handoff.requests[0].topic == "ordnungsamt"


async def test_timers_still_running_are_cancelled_when_the_call_ends() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    task = asyncio.create_task(caller.flow(caller.call))
    await caller.ari.wait_for("play")
    (playback,) = caller.playing()
    caller.finish(playback)
    await caller.call.idle.wait()
    assert len(caller.timers.running) == 1
    task.cancel()  # the app stops
    await asyncio.gather(task, return_exceptions=True)
    assert not caller.timers.running


async def test_the_default_timer_puts_its_callback_on_the_loop() -> None:
    fired = asyncio.Event()
    handle = _loop_timers(0, fired.set)
    await asyncio.wait_for(fired.wait(), 1)
    handle.cancel()


def test_the_default_sink_logs_one_line_per_event() -> None:
    with structlog.testing.capture_logs() as logs:
        log_happened(Happened("c1", 5.0, KeyPressed("4", "main")))
    assert logs == [
        {
            "event": "call.happened",
            "log_level": "info",
            "what": "KeyPressed",
            "call_id": "c1",
            "at": 5.0,
            "digit": "4",
            "menu": "main",
        }
    ]


async def test_the_topic_sets_only_what_the_client_had_not_and_in_few_requests() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    await caller.run(["2", "1"], barge_in=True)
    names = [s["name"] for s in caller.ari.calls("set_var")]
    assert names.count("STADTRUF_CLIENT") == 1  # the topic's marks repeat the client's
    assert names.count("STADTRUF_TOPIC") == 1
    assert caller.variables["STADTRUF_CLIENT"] == "bottrop"
    assert caller.variables["STADTRUF_TOPIC"] == "kfz"
