"""Opening hours in the call flow: the closed decision (table), the flow's closed path, the
overrides store, `stadtruf hours` and `stadtruf simulate --at`."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from stadtruf import cli
from stadtruf.config import load
from stadtruf.core import callflow
from stadtruf.core.callflow import Arrival, Emit, Hangup, PlayToEnd, Queue
from stadtruf.core.closed import closed_plan, closed_spoken, new_override, parse_moment
from stadtruf.core.hours import BERLIN, Override
from stadtruf.core.lifecycle import Ended, RouteChosen
from stadtruf.core.menu import DigitPressed, PlayPrompt, PromptFinished
from stadtruf.store.overrides import OverrideStore
from tests.support.ari_caller import AriCaller

ROOT = Path(__file__).parents[2]
CONFIG = load(ROOT / "config")
LEIPZIG = load(ROOT / "config" / "examples" / "leipzig")
BOTTROP = "02041700"


def berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BERLIN)


@pytest.mark.parametrize(
    ("config", "client", "topic", "at", "closed"),
    [
        (CONFIG, "bottrop", None, "2026-06-04T10:00", "holiday"),  # Fronleichnam in NW
        (LEIPZIG, "leipzig", None, "2026-06-04T10:00", None),  # not in Sachsen
        (CONFIG, "bottrop", None, "2026-06-03T17:59:59", None),
        (CONFIG, "bottrop", None, "2026-06-03T18:00:00", "hours"),
        (CONFIG, "bottrop", None, "2026-06-03T07:29:59", "hours"),
        (CONFIG, "bottrop", None, "2026-12-24T10:00", "exception"),
        (CONFIG, "wbd", "sperrmuell", "2026-06-03T16:30", "hours"),  # the topic's own hours
        (CONFIG, "wbd", "abfall", "2026-06-03T16:30", None),
        (CONFIG, "wbd", None, "2026-06-06T10:00", None),  # Saturday morning
    ],
)
def test_closed_decision(
    config: object, client: str, topic: str | None, at: str, closed: str | None
) -> None:
    assert isinstance(config, type(CONFIG))
    c = config.clients[client]
    plan = closed_plan(c, config.service_center, topic, berlin(at), (), "de")
    assert (plan.reason if plan else None) == closed


def test_closed_action_and_text() -> None:
    plan = closed_plan(
        CONFIG.clients["bottrop"], CONFIG.service_center, None, berlin("2026-06-04T10:00"), (), "de"
    )
    assert plan is not None and plan.action == "callback" and plan.target == "vermittlung"
    assert plan.text == (
        "Heute ist ein gesetzlicher Feiertag: Fronleichnam. Wir sind morgen ab 7:30 Uhr wieder "
        "für Sie da."
    )
    wbd = closed_plan(
        CONFIG.clients["wbd"], CONFIG.service_center, None, berlin("2026-06-07T10:00"), (), "de"
    )
    assert wbd is not None and wbd.action == "voicemail" and wbd.target == "abfall"


def test_an_override_closes_an_open_line() -> None:
    now = berlin("2026-06-03T11:00")
    override = new_override(now, "14:00", start="12:00", client="bottrop", reason="Besprechung")
    client, center = CONFIG.clients["bottrop"], CONFIG.service_center
    assert closed_plan(client, center, None, berlin("2026-06-03T11:59"), (override,), "de") is None
    plan = closed_plan(client, center, None, berlin("2026-06-03T12:00"), (override,), "de")
    assert plan is not None and plan.reason == "override"
    assert "heute ab 14 Uhr" in plan.text
    other = CONFIG.clients["dinslaken"]
    assert closed_plan(other, center, None, berlin("2026-06-03T12:30"), (override,), "de") is None


def test_the_flow_plays_the_closed_announcement_then_the_action() -> None:
    at = berlin("2026-06-04T10:00")
    state, fx = callflow.start(CONFIG, Arrival(BOTTROP, "02041555", at=at))
    chosen = [e.event for e in fx if isinstance(e, Emit) and isinstance(e.event, RouteChosen)]
    assert chosen == [RouteChosen("callback", "vermittlung", None, "", "closed")]
    (play,) = [e for e in fx if isinstance(e, PlayToEnd)]
    assert "Fronleichnam" in (play.prompt.text_for("de") or "")
    state, fx = callflow.step(state, PromptFinished(play.playback_id))
    (queue,) = fx
    assert isinstance(queue, Queue) and queue.closed_action == "callback"
    assert queue.client_id == "bottrop" and queue.topic == "vermittlung"
    assert state.done


def test_a_closed_topic_after_the_menu() -> None:
    at = berlin("2026-06-03T16:30")  # wbd open, its sperrmuell topic closed since 16:00
    state, fx = callflow.start(CONFIG, Arrival(None, "0203555", client="wbd", at=at))
    plays = [e for e in fx if isinstance(e, PlayPrompt)]
    for play in plays:
        state, fx = callflow.step(state, PromptFinished(play.playback_id))
    state, fx = callflow.step(state, DigitPressed("1"))
    chosen = [e.event for e in fx if isinstance(e, Emit) and isinstance(e.event, RouteChosen)]
    assert [(c.kind, c.topic, c.cause) for c in chosen] == [("voicemail", "sperrmuell", "closed")]


def test_a_hangup_action_ends_the_call_once() -> None:
    at = berlin("2026-06-03T20:00")
    bottrop = CONFIG.clients["bottrop"]
    hangup = bottrop.when_closed.model_copy(update={"action": "hangup"})
    client = bottrop.model_copy(update={"when_closed": hangup})
    config = dataclasses.replace(CONFIG, clients={**CONFIG.clients, "bottrop": client})
    state, fx = callflow.start(config, Arrival(BOTTROP, "02041555", at=at))
    (play,) = [e for e in fx if isinstance(e, PlayToEnd)]
    state, fx = callflow.step(state, PromptFinished(play.playback_id))
    assert fx == (Hangup(), Emit(Ended("menu")))


def test_closed_texts_are_rendered_ahead() -> None:
    since = berlin("2026-06-03T09:00")
    texts = closed_spoken(tuple(CONFIG.clients.values()), CONFIG.service_center, since)
    plan = closed_plan(
        CONFIG.clients["bottrop"], CONFIG.service_center, None, berlin("2026-06-04T10:00"), (), "de"
    )
    assert plan is not None and (plan.text, "de") in texts


def test_parse_moment() -> None:
    now = berlin("2026-06-03T11:00")
    assert parse_moment("12:00", now) == berlin("2026-06-03T12:00")
    assert parse_moment("2026-06-04T08:00", now) == berlin("2026-06-04T08:00")
    with pytest.raises(ValueError, match="keine Zeit"):
        parse_moment("mittags", now)
    with pytest.raises(ValueError, match="nicht nach dem Beginn"):
        new_override(now, "10:00")
    with pytest.raises(ValueError, match="Vergangenheit"):
        new_override(now, "10:00", start="09:00")


def test_the_override_store(tmp_path: Path) -> None:
    now = [berlin("2026-06-03T11:00").timestamp()]
    store = OverrideStore(tmp_path / "o.json", lambda: now[0])
    assert store.current() == ()
    kept = store.add(new_override(berlin("2026-06-03T11:00"), "14:00", client="bottrop"))
    assert kept.id and store.current() == (kept,)
    assert OverrideStore(tmp_path / "o.json", lambda: now[0]).all() == (kept,)
    now[0] = berlin("2026-06-03T14:00").timestamp()  # expired
    assert store.current() == ()
    assert not store.remove(kept.id)


def test_hours_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "o.json")
    until = datetime.now(UTC).replace(year=datetime.now(UTC).year + 1).isoformat()
    status = cli.main(
        ["hours", "--file", path, "close", "--client", "bottrop", "--until", until,
         "--reason", "Dienstbesprechung", "--config", str(ROOT / "config")]
    )  # fmt: skip
    out = capsys.readouterr().out
    assert status == 0 and "geschlossen" in out and "Dienstbesprechung" in out
    (stored,) = OverrideStore(Path(path)).all()
    assert cli.main(["hours", "--file", path, "list"]) == 0
    assert stored.id in capsys.readouterr().out
    assert cli.main(["hours", "--file", path, "clear", stored.id]) == 0
    assert OverrideStore(Path(path)).all() == ()
    assert cli.main(["hours", "--file", path, "clear", "nix"]) == 1


def test_simulate_at_shows_the_closed_path(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("STADTRUF_RUN_DIR", str(tmp_path))
    status = cli.main(
        ["simulate", "bottrop", "--at", "2026-06-04T10:00", "--config", str(ROOT / "config")]
    )
    out = capsys.readouterr().out
    assert status == 0
    assert "Zeitpunkt: Donnerstag, 04.06.2026 10:00:00 Uhr" in out
    assert "Geschlossen: „Heute ist ein gesetzlicher Feiertag: Fronleichnam." in out
    assert "→ Geschlossen (Kunde), dann Rückrufwunsch (Rückrufliste, Thema vermittlung)" in out


def test_override_round_trip_in_utc() -> None:
    override = Override("closed", berlin("2026-06-03T12:00"), berlin("2026-06-03T14:00"))
    assert Override.from_dict(override.to_dict()) == override


async def test_the_driver_hands_a_closed_callback_to_the_queue_which_ends_it() -> None:
    # The call flow's driver does not end a call it handed over: the queue adapter does.
    at = berlin("2026-06-04T10:00").timestamp()
    caller = AriCaller(CONFIG, dialled=BOTTROP, caller="02041555001", clock=lambda: at)
    await caller.run([])
    (request,) = caller.handoff.requests
    assert request.closed_action == "callback" and request.topic == "vermittlung"
    assert not any(isinstance(e, Ended) for e in caller.events)
    assert RouteChosen("callback", "vermittlung", None, "", "closed") in caller.events
