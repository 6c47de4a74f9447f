"""The call flow, rule by rule (see the rules in stadtruf/core/callflow.py's docstring).

A small config written for the purpose: a town menu with a language choice and a queue of its
own, one client in German and English (`duisburg`), one in German only (`bottrop`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from stadtruf.config import ServiceCenterConfig, load
from stadtruf.core.callflow import (
    GIVEN_RULE,
    TRANSFER_ENDPOINT_EXTENSION,
    TRANSFER_ENDPOINT_VARIABLE,
    Answer,
    Arrival,
    CallState,
    Effect,
    Emit,
    Hangup,
    PlayToEnd,
    Queue,
    SetVariable,
    Stage,
    Transfer,
    start,
    step,
)
from stadtruf.core.lifecycle import (
    Arrived,
    Ended,
    KeyPressed,
    LanguageChosen,
    LifeEvent,
    MenuEntered,
    OriginDecided,
    RouteChosen,
    Transferred,
)
from stadtruf.core.menu import (
    Abandoned,
    CallerHungUp,
    CancelDigitTimer,
    DigitPressed,
    DigitTimeout,
    PlayPrompt,
    PromptFinished,
    QueueRoute,
    SetLanguage,
    StartDigitTimer,
    StopPrompt,
)

CENTER = """
name: Test
topics:
  vermittlung: {name: Vermittlung}
  kfz: {name: Kfz-Zulassung}
  abfall: {name: Abfall}
menu_defaults: {timeout: 4, retries: 1, default: {queue: vermittlung}}
greeting: "Guten Tag."
max_menu_prompts: 6
unknown_caller:
  town_menu:
    menus:
      main:
        prompt: "Welche Stadt? For English press 9."
        options:
          "1": {client: duisburg}
          "2": {client: bottrop}
          "0": {queue: vermittlung}
          "9": {language: en, submenu: english}
        default: {client: duisburg}
      english:
        prompt: {text: {en: "Which town?"}}
        options:
          "1": {client: duisburg}
          "2": {client: bottrop}
          "*": {language: de, submenu: main}
        default: {client: duisburg}
"""
DUISBURG = """
id: duisburg
name: Duisburg
tag: DU
state: NW
switchboard_numbers: ["0203 94000"]
area_codes: ["0203"]
languages: [de, en]
greeting: "Willkommen in Duisburg."
menu:
  menus:
    main:
      prompt: "Kfz 1, Abfall 2, Weiterleitung 3, Sperrmüll 4, Auflegen 5."
      options:
        "1": {queue: kfz, prompt: "Einen Moment bitte."}
        "2": {transfer: "PJSIP/wbd", topic: abfall}
        "3": {transfer: "0281 207-0"}
        "4": {announce: "Dafür ist die WBD zuständig.", topic: abfall}
        "5": hangup
        "6": {announce: "Auf Wiederhören."}
"""
BOTTROP = """
id: bottrop
name: Bottrop
tag: BOT
state: NW
switchboard_numbers: ["02041 70-0"]
area_codes: ["02041"]
languages: [de]
menu: {menus: {main: {prompt: "Bottrop. Kfz 1.", options: {"1": {queue: kfz}}}}}
"""


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> ServiceCenterConfig:
    directory = tmp_path_factory.mktemp("callflow")
    for name, text in (("service-center", CENTER), ("duisburg", DUISBURG), ("bottrop", BOTTROP)):
        (directory / f"{name}.yaml").write_text(text, encoding="utf-8")
    return load(Path(directory))


WITHHELD = Arrival(dialled="115", caller="anonymous")
DUISBURG_SWITCHBOARD = Arrival(dialled="020394000", caller="02041555", caller_name="Erika")


def life(effects: tuple[Effect, ...]) -> list[LifeEvent]:
    return [e.event for e in effects if isinstance(e, Emit)]


def variables(effects: tuple[Effect, ...]) -> dict[str, str]:
    return {e.name: e.value for e in effects if isinstance(e, SetVariable)}


def of(kind: type[Any], effects: tuple[Effect, ...]) -> list[Any]:
    return [e for e in effects if isinstance(e, kind)]


def press(state: CallState, *digits: str) -> tuple[CallState, tuple[Effect, ...]]:
    """Press each digit after its prompt finished; all effects of the last key."""
    effects: tuple[Effect, ...] = ()
    for digit in digits:
        plays = [e for e in effects if isinstance(e, PlayPrompt)]
        if plays:
            state, _ = step(state, PromptFinished(plays[-1].playback_id))
        state, effects = step(state, DigitPressed(digit))
    return state, effects


# --- 1. Arrival ---------------------------------------------------------------------------


def test_a_switchboard_call_is_answered_marked_and_starts_the_clients_menu(
    cfg: ServiceCenterConfig,
) -> None:
    state, fx = start(cfg, DUISBURG_SWITCHBOARD)
    assert life(fx)[:3] == [
        Arrived("020394000", "02041555"),
        OriginDecided("duisburg", "switchboard", "Zentrale 020394000 gewählt (duisburg)"),
        MenuEntered("main", "duisburg"),
    ]
    assert of(Answer, fx) == [Answer()]
    assert fx.index(Answer()) < next(i for i, e in enumerate(fx) if isinstance(e, PlayPrompt))
    marks = variables(fx)
    assert marks["STADTRUF_ORIGIN_REASON"] == "Zentrale 020394000 gewählt (duisburg)"
    assert marks["STADTRUF_CLIENT"] == "duisburg"
    assert marks["CALLERID(name)"] == "[DU] · Erika"
    assert marks["__STADTRUF_HEADER_X_ORIGIN_CITY"] == "Duisburg"
    (play,) = of(PlayPrompt, fx)
    assert [p.text for p in play.prompts] == ["Willkommen in Duisburg.", play.prompts[1].text]
    assert play.language == "de" and play.playback_id == 1
    assert state.stage is Stage.CLIENT_MENU and state.client == "duisburg"


def test_a_withheld_caller_is_marked_as_such(cfg: ServiceCenterConfig) -> None:
    _, fx = start(cfg, WITHHELD)
    assert life(fx)[0] == Arrived("115", None, withheld=True)


def test_a_given_client_skips_the_origin_rules_but_keeps_them_for_a_hint(
    cfg: ServiceCenterConfig,
) -> None:
    state, fx = start(cfg, Arrival("115", "02041555", client="duisburg"))
    assert life(fx)[1] == OriginDecided("duisburg", GIVEN_RULE, "Kunde duisburg vorgegeben")
    assert state.origin.client_id == "bottrop" and state.client == "duisburg"


# --- 2. Town menu ---------------------------------------------------------------------------


def test_undecided_origin_plays_the_town_menu_in_the_default_language(
    cfg: ServiceCenterConfig,
) -> None:
    state, fx = start(cfg, WITHHELD)
    assert state.stage is Stage.TOWN_MENU and state.client is None
    assert life(fx)[2] == MenuEntered("main", None)
    (play,) = of(PlayPrompt, fx)
    assert play.prompts[0].text == "Guten Tag." and play.language == "de"
    assert "STADTRUF_CLIENT" not in variables(fx)


def test_a_town_leads_to_its_menu_with_the_annotation(cfg: ServiceCenterConfig) -> None:
    state, _ = start(cfg, WITHHELD)
    state, fx = press(state, "2")
    assert life(fx) == [
        KeyPressed("2", "main"),
        RouteChosen("client", "bottrop", None, "main", "digit"),
        MenuEntered("main", "bottrop"),
    ]
    assert fx[1] == StopPrompt(1)  # the key came during the town prompt
    assert variables(fx)["STADTRUF_CLIENT"] == "bottrop"
    (play,) = of(PlayPrompt, fx)
    assert play.playback_id > 1  # fresh ids after the town menu's
    assert state.stage is Stage.CLIENT_MENU and state.client == "bottrop"


def test_a_town_menu_route_without_a_town_is_not_annotated(cfg: ServiceCenterConfig) -> None:
    state, _ = start(cfg, WITHHELD)
    state, fx = press(state, "0")
    assert of(Queue, fx)[0].client_id is None and of(Queue, fx)[0].topic == "vermittlung"
    assert "STADTRUF_CLIENT" not in variables(fx)
    assert variables(fx)["STADTRUF_ROUTE"] == "queue:vermittlung"
    assert state.done and state.annotation is None


def test_a_late_event_of_the_town_menu_does_not_pass_for_the_clients(
    cfg: ServiceCenterConfig,
) -> None:
    state, _ = start(cfg, WITHHELD)
    state, _ = step(state, PromptFinished(1))  # town prompt ends; timer 2 runs
    state, fx = step(state, DigitPressed("1"))
    assert fx[1] == CancelDigitTimer(2)
    client_play = of(PlayPrompt, fx)[0].playback_id
    assert client_play == 3
    for stale in (PromptFinished(1), DigitTimeout(2)):
        assert step(state, stale) == (state, ())
    state, fx = step(state, PromptFinished(client_play))
    assert fx == (StartDigitTimer(4.0, 4),)


# --- 3. Language ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keys", "client", "language"),
    [
        (("1",), "duisburg", "de"),  # nothing chosen: the client's language
        (("9", "1"), "duisburg", "en"),  # chosen, and the client offers it
        (("9", "2"), "bottrop", "de"),  # chosen, but the client has German only
        (("9", "*", "1"), "duisburg", "de"),  # chosen twice: the last one counts
    ],
)
def test_the_language_chosen_in_the_town_menu_carries_over_where_offered(
    cfg: ServiceCenterConfig, keys: tuple[str, ...], client: str, language: str
) -> None:
    state, _ = start(cfg, WITHHELD)
    state, fx = press(state, *keys)
    assert state.client == client and state.language == language
    assert of(PlayPrompt, fx)[-1].language == language
    assert variables(fx)["STADTRUF_LANGUAGE"] == language


def test_choosing_a_language_sets_it_and_says_so(cfg: ServiceCenterConfig) -> None:
    state, _ = start(cfg, WITHHELD)
    state, fx = press(state, "9")
    assert SetLanguage("en") in fx
    assert life(fx) == [KeyPressed("9", "main"), LanguageChosen("en"), MenuEntered("english", None)]
    assert state.chosen_language == "en"


# --- 4. Routes ------------------------------------------------------------------------------


def test_a_queue_with_a_prompt_plays_it_to_the_end_then_queues(cfg: ServiceCenterConfig) -> None:
    state, _ = start(cfg, DUISBURG_SWITCHBOARD)
    state, fx = press(state, "1")
    assert variables(fx)["STADTRUF_ROUTE"] == "queue:kfz"
    assert variables(fx)["CALLERID(name)"] == "[DU] Kfz-Zulassung · Erika"
    assert life(fx)[-1] == RouteChosen("queue", "kfz", "kfz", "main", "digit")
    (announce,) = of(PlayToEnd, fx)
    assert announce.prompt.text == "Einen Moment bitte."
    assert state.stage is Stage.ANNOUNCING and not of(Queue, fx)
    # Keys and timers are nothing now; only the prompt's end (or the caller leaving) counts.
    for ignored in (DigitPressed("1"), DigitTimeout(2), PromptFinished(1)):
        assert step(state, ignored) == (state, ())
    state, fx = step(state, PromptFinished(announce.playback_id))
    (queue,) = fx
    assert queue == Queue(
        topic="kfz",
        language="de",
        client_id="duisburg",
        client_name="Duisburg",
        topic_name="Kfz-Zulassung",
        dialled="switchboard",
        caller_number="02041555",
        caller_id_name="[DU] Kfz-Zulassung · Erika",
        sip_headers={
            "X-Origin-City": "Duisburg",
            "X-Origin-Client": "duisburg",
            "X-Topic": "kfz",
            "X-Topic-Name": "Kfz-Zulassung",
        },
    )
    assert state.done and isinstance(state.route, QueueRoute)


def test_the_caller_hanging_up_during_the_routes_prompt_ends_the_call(
    cfg: ServiceCenterConfig,
) -> None:
    state, _ = start(cfg, DUISBURG_SWITCHBOARD)
    state, _ = press(state, "1")
    state, fx = step(state, CallerHungUp(cause=16))
    assert fx == (Emit(Ended("caller", 16)),)
    assert state.done and isinstance(state.route, QueueRoute)


@pytest.mark.parametrize(
    ("key", "final", "route_variable", "events"),
    [
        (
            "2",
            (
                SetVariable(TRANSFER_ENDPOINT_VARIABLE, "PJSIP/wbd"),
                Transfer("PJSIP/wbd", TRANSFER_ENDPOINT_EXTENSION),
            ),
            "transfer:PJSIP/wbd",
            [Transferred("PJSIP/wbd", "menu"), Ended("transfer")],
        ),
        (
            "3",
            (Transfer("02812070", "02812070"),),
            "transfer:02812070",
            [Transferred("02812070", "menu"), Ended("transfer")],
        ),
        ("5", (Hangup(),), "hangup", [Ended("menu")]),
    ],
)
def test_transfers_and_hangups(
    cfg: ServiceCenterConfig,
    key: str,
    final: tuple[Effect, ...],
    route_variable: str,
    events: list[LifeEvent],
) -> None:
    state, _ = start(cfg, DUISBURG_SWITCHBOARD)
    state, fx = press(state, key)
    assert variables(fx)["STADTRUF_ROUTE"] == route_variable
    actions = tuple(e for e in fx if isinstance(e, Transfer | Hangup) or e in final)
    assert actions == final
    assert life(fx)[-len(events) :] == events
    assert state.done


@pytest.mark.parametrize(("key", "topic"), [("4", "abfall"), ("6", None)])
def test_an_announcement_marks_the_topic_only_when_it_names_one(
    cfg: ServiceCenterConfig, key: str, topic: str | None
) -> None:
    state, _ = start(cfg, DUISBURG_SWITCHBOARD)
    state, fx = press(state, key)
    assert variables(fx).get("STADTRUF_TOPIC") == topic
    assert variables(fx)["STADTRUF_ROUTE"] == "announce"
    (announce,) = of(PlayToEnd, fx)
    state, fx = step(state, PromptFinished(announce.playback_id))
    assert fx == (Hangup(), Emit(Ended("menu")))


# --- 5. Prompt budget per call ---------------------------------------------------------------


def test_the_prompt_limit_counts_town_and_client_menu_together(cfg: ServiceCenterConfig) -> None:
    state, fx = start(cfg, WITHHELD)
    plays = 0
    # Repeat the language choice back and forth: 6 prompts at most, then the default.
    for key in ["9", "*"] * 2 + ["1"]:
        plays += len(of(PlayPrompt, fx))
        state, fx = press(state, key) if not state.done else (state, ())
    while not state.done:
        plays += len(of(PlayPrompt, fx))
        timers = of(StartDigitTimer, fx)
        if timers:
            state, fx = step(state, DigitTimeout(timers[-1].timer_id))
        else:
            state, fx = step(state, PromptFinished(of(PlayPrompt, fx)[-1].playback_id))
    assert plays <= 6
    assert state.route is not None and state.route.cause == "prompt_limit"


# --- 6. Hanging up, and after the end ------------------------------------------------------


def test_hanging_up_in_a_menu_cancels_its_timer_and_ends_the_call(
    cfg: ServiceCenterConfig,
) -> None:
    state, _ = start(cfg, WITHHELD)
    state, _ = step(state, PromptFinished(1))
    state, fx = step(state, CallerHungUp())
    assert fx == (CancelDigitTimer(2), Emit(Ended("caller")))
    assert state.done and isinstance(state.route, Abandoned)
    assert step(state, DigitPressed("1")) == (state, ())


def test_an_unknown_event_is_refused(cfg: ServiceCenterConfig) -> None:
    state, _ = start(cfg, WITHHELD)
    with pytest.raises(TypeError):
        step(state, "1")  # type: ignore[arg-type]


# --- Configs the checks would refuse: the caller is never left in silence ---------------------


def test_a_given_client_that_does_not_exist_hangs_up(cfg: ServiceCenterConfig) -> None:
    state, fx = start(cfg, Arrival("115", None, client="gladbeck"))
    assert state.done and of(Hangup, fx) == [Hangup()]
    assert variables(fx)["STADTRUF_ROUTE"] == "hangup"


def test_an_undecided_origin_without_a_town_menu_hangs_up(
    tmp_path: Path, cfg: ServiceCenterConfig
) -> None:
    center = cfg.service_center
    unknown = center.unknown_caller.model_copy(update={"town_menu": None})
    broken = type(cfg)(
        cfg.directory,
        center.model_copy(update={"unknown_caller": unknown}),
        cfg.clients,
        cfg.switchboards,
        cfg.area_codes,
    )
    state, fx = start(broken, WITHHELD)
    assert state.done and of(Hangup, fx) == [Hangup()]
    assert life(fx)[-2:] == [
        RouteChosen("hangup", "keine Stadtauswahl", None, "", "broken_menu"),
        Ended("menu"),
    ]
