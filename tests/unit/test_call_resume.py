"""The call driver keeps the call's snapshot on the channel and goes on from it (ari_app/call.py;
the decisions are stadtruf/core/callflow_resume.py's, tested in test_resume.py)."""

from __future__ import annotations

from ari_app.application import Resynced
from stadtruf.core.lifecycle import Arrived
from stadtruf.core.snapshot import SNAPSHOT_VARIABLE, Snapshot, dumps, loads
from tests.support.ari_caller import CHANNEL, AriCaller
from tests.unit.test_call import BOTTROP, CONFIG


def snapshot(caller: AriCaller) -> Snapshot | None:
    return loads(caller.variables.get(SNAPSHOT_VARIABLE))


def adopted(snap: Snapshot) -> AriCaller:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    caller.call.adopted = True
    caller.ari.variables[(CHANNEL, SNAPSHOT_VARIABLE)] = dumps(snap)
    return caller


async def test_the_menu_position_is_written_before_its_prompt_starts() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    await caller.run(["2", "h"])
    snap = snapshot(caller)
    assert snap is not None and (snap.menu, snap.client, snap.stack) == (
        "kfz",
        "bottrop",
        ("main",),
    )
    # A playback holds the channel's next request until it ends: the snapshot goes first.
    order = [
        "snapshot" if args.get("name") == SNAPSHOT_VARIABLE else name
        for name, args in caller.ari.requests
        if name == "play" or args.get("name") == SNAPSHOT_VARIABLE
    ]
    assert order == ["snapshot", "play", "snapshot", "play"]  # main, then kfz


async def test_an_adopted_caller_hears_the_menu_it_was_in_and_goes_on() -> None:
    caller = adopted(Snapshot("menu", client="bottrop", language="de", menu="kfz", stack=("main",)))
    await caller.run(["1"])
    assert "answer" not in caller.ari.names()
    first = caller.ari.calls("play")[0]
    assert len(first["media"]) == 1  # the kfz menu, no greeting
    assert not any(isinstance(e, Arrived) for e in caller.events)
    (request,) = caller.handoff.requests
    assert request.topic == "kfz" and request.queued_at is None


async def test_an_adopted_waiting_caller_goes_back_to_the_queue_with_its_time() -> None:
    caller = adopted(Snapshot("queue", client="bottrop", topic="kfz", queued_at=1_780_473_000.0))
    await caller.run([])
    assert caller.ari.calls("play") == [] and "answer" not in caller.ari.names()
    (request,) = caller.handoff.requests
    assert (request.topic, request.queued_at) == ("kfz", 1_780_473_000.0)
    assert request.caller_id_name.startswith("[BOT] Kfz-Zulassung")


async def test_an_adopted_call_without_a_snapshot_starts_as_new() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    caller.call.adopted = True
    await caller.run(["h"])
    assert caller.ari.names()[:2] == ["get_var", "answer"]
    assert isinstance(caller.events[0], Arrived)


async def test_after_a_cut_stream_the_menu_plays_again() -> None:
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001")
    caller.send(Resynced())  # as if the stream was cut during the greeting
    await caller.run(["h"])
    plays = caller.ari.calls("play")
    assert len(plays) == 2 and len(plays[1]["media"]) == 1  # the menu again, no greeting
    assert caller.ari.calls("stop_playback")[0]["playback_id"] == plays[0]["playback_id"]
