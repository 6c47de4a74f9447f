"""Going on with a call after a restart or a cut event stream (stadtruf/core/callflow_resume.py,
stadtruf/core/snapshot.py), rule by rule, on the call flow tests' config."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from stadtruf.config import ServiceCenterConfig
from stadtruf.core.callflow import Hangup, PlayToEnd, Queue, Stage, start, step
from stadtruf.core.callflow_resume import reconnected, resume, snapshot
from stadtruf.core.lifecycle import Arrived, Ended, MenuEntered
from stadtruf.core.menu import (
    CancelDigitTimer,
    DigitPressed,
    PlayPrompt,
    PromptFinished,
    StartDigitTimer,
    StopPrompt,
)
from stadtruf.core.snapshot import Snapshot, dumps, loads
from tests.unit import test_callflow
from tests.unit.test_callflow import DUISBURG_SWITCHBOARD, WITHHELD, life, of, press

cfg = test_callflow.cfg  # the call flow tests' config, as a fixture here too


def test_a_snapshot_survives_its_channel_variable() -> None:
    snap = Snapshot("menu", client="duisburg", language="en", menu="main", stack=("a", "b"))
    assert loads(dumps(snap)) == snap
    queued = Snapshot("queue", client="bottrop", topic="kfz", queued_at=1780000000.25)
    assert loads(dumps(queued)) == queued
    assert len(dumps(Snapshot("menu", menu="main"))) < 40  # defaults are left out


@given(st.text(max_size=200))
def test_whatever_is_in_the_variable_reads_as_a_snapshot_or_none(text: str) -> None:
    assert loads(text) is None or isinstance(loads(text), Snapshot)


def test_another_version_or_a_mangled_value_starts_the_call_over() -> None:
    assert loads("") is None
    assert loads('{"v":2,"stage":"menu"}') is None
    assert loads('{"v":1,"stage":"menu","stack":"main"}') is None
    assert loads('{"v":1,"stage":"later"}') is None
    assert loads('{"v":1,"stage":"queue","queued_at":"yesterday"}') is None


def test_a_caller_in_a_menu_hears_that_menu_again_without_greeting_or_arrival(
    cfg: ServiceCenterConfig,
) -> None:
    state, fx = start(cfg, DUISBURG_SWITCHBOARD)
    snap = snapshot(state)
    assert snap == Snapshot("menu", client="duisburg", language="de", menu="main", prompts_left=5)
    resumed, fx = resume(cfg, DUISBURG_SWITCHBOARD, loads(dumps(snap)))
    [play] = of(PlayPrompt, fx)
    assert len(play.prompts) == 1 and play.menu == "main"  # no greeting
    assert life(fx) == []  # arrival, origin and the menu are in the record already
    assert resumed.stage is Stage.CLIENT_MENU and resumed.annotation is not None
    resumed, fx = step(resumed, DigitPressed("1"))
    [announce] = of(PlayToEnd, fx)
    _, fx = step(resumed, PromptFinished(announce.playback_id))
    [queue] = of(Queue, fx)
    assert queue.topic == "kfz" and queue.client_id == "duisburg" and queue.queued_at is None


def test_the_town_menu_goes_on_in_its_submenu_language_and_way_back(
    cfg: ServiceCenterConfig,
) -> None:
    state, _ = start(cfg, WITHHELD)
    state, fx = press(state, "9")
    snap = snapshot(state)
    assert snap is not None and snap.town and snap.menu == "english" and snap.language == "en"
    resumed, fx = resume(cfg, WITHHELD, loads(dumps(snap)))
    [play] = of(PlayPrompt, fx)
    assert play.menu == "english" and play.language == "en"
    resumed, fx = press(resumed, "*")  # back: the language submenu's way home kept
    assert [p.menu for p in of(PlayPrompt, fx)] == ["main"]


def test_the_prompt_limit_holds_across_a_restart(cfg: ServiceCenterConfig) -> None:
    snap = Snapshot("menu", client="duisburg", language="de", menu="main", prompts_left=0)
    state, fx = resume(cfg, DUISBURG_SWITCHBOARD, snap)
    assert not of(PlayPrompt, fx) and state.route is not None
    assert state.route.cause == "prompt_limit"


def test_a_waiting_caller_goes_back_to_the_queue_with_the_first_queued_time(
    cfg: ServiceCenterConfig,
) -> None:
    snap = Snapshot("queue", client="duisburg", language="de", topic="kfz", queued_at=1000.5)
    state, fx = resume(cfg, DUISBURG_SWITCHBOARD, snap)
    assert state.done and life(fx) == []
    [queue] = fx
    assert isinstance(queue, Queue)
    assert (queue.topic, queue.queued_at, queue.client_name) == ("kfz", 1000.5, "Duisburg")
    assert queue.caller_id_name.startswith("[DU] Kfz-Zulassung")
    assert queue.sip_headers["X-Topic"] == "kfz"


def test_a_caller_found_outside_the_conversation_lost_the_agent(
    cfg: ServiceCenterConfig,
) -> None:
    snap = Snapshot("talking", client="duisburg", topic="kfz", agent="agent-101")
    state, fx = resume(cfg, DUISBURG_SWITCHBOARD, snap)
    assert state.done and isinstance(fx[0], Hangup) and life(fx) == [Ended("agent")]


def test_no_snapshot_or_one_the_config_no_longer_fits_starts_over(
    cfg: ServiceCenterConfig,
) -> None:
    for snap in (None, Snapshot("menu", client="gone", menu="main")):
        _, fx = resume(cfg, DUISBURG_SWITCHBOARD, snap)
        assert isinstance(life(fx)[0], Arrived)
    # A menu removed by a reload: the client's start menu.
    _, fx = resume(cfg, DUISBURG_SWITCHBOARD, Snapshot("menu", client="duisburg", menu="old"))
    assert [p.menu for p in of(PlayPrompt, fx)] == ["main"]


def test_after_a_cut_the_waiting_menu_plays_again_with_fresh_ids(
    cfg: ServiceCenterConfig,
) -> None:
    state, fx = start(cfg, DUISBURG_SWITCHBOARD)
    [play] = of(PlayPrompt, fx)
    state, fx = step(state, PromptFinished(play.playback_id))
    [timer] = of(StartDigitTimer, fx)
    again, fx = reconnected(state)
    assert fx[0] == CancelDigitTimer(timer.timer_id)
    [replay] = of(PlayPrompt, fx)
    assert replay.playback_id > timer.timer_id and replay.menu == "main"
    assert not any(isinstance(e, MenuEntered) for e in life(fx))
    # The old prompt's and timer's late events change nothing.
    assert step(again, PromptFinished(play.playback_id)) == (again, ())


def test_after_a_cut_a_prompt_still_playing_is_stopped_and_played_again(
    cfg: ServiceCenterConfig,
) -> None:
    state, fx = start(cfg, DUISBURG_SWITCHBOARD)
    [play] = of(PlayPrompt, fx)
    _, fx = reconnected(state)
    assert fx[0] == StopPrompt(play.playback_id) and len(of(PlayPrompt, fx)) == 1


def test_after_a_cut_the_routes_prompt_is_cut_short_and_the_route_taken(
    cfg: ServiceCenterConfig,
) -> None:
    state, _ = start(cfg, DUISBURG_SWITCHBOARD)
    state, fx = press(state, "1")
    [announce] = of(PlayToEnd, fx)
    state, fx = reconnected(state)
    assert fx[0] == StopPrompt(announce.playback_id) and state.done
    assert [q.topic for q in of(Queue, fx)] == ["kfz"]
    assert reconnected(state) == (state, ())


def test_a_resumed_flow_equals_the_original_one_from_the_same_menu(
    cfg: ServiceCenterConfig,
) -> None:
    state, _ = start(cfg, DUISBURG_SWITCHBOARD)
    snap = snapshot(state)
    assert snap is not None
    resumed, _ = resume(cfg, DUISBURG_SWITCHBOARD, replace(snap, prompts_left=None))
    for digits in ("5", "3", "4"):
        a, fa = press(state, *digits)
        b, fb = press(resumed, *digits)
        assert life(fa)[-1] == life(fb)[-1] and a.route == b.route
