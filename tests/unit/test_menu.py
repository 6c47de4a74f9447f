"""The menu engine, step by step: each rule of the protocol in menu.py's docstring."""

from __future__ import annotations

from typing import Any

import pytest

from stadtruf.config import MenuTree, Prompt
from stadtruf.core.menu import (
    Abandoned,
    AnnounceAndHangup,
    CallerHungUp,
    CancelDigitTimer,
    ClientRoute,
    DigitPressed,
    DigitTimeout,
    HangupRoute,
    MenuState,
    PlayPrompt,
    PromptFinished,
    QueueRoute,
    SetLanguage,
    StartDigitTimer,
    StopPrompt,
    TransferRoute,
    start,
    step,
)

INVALID = Prompt(text="Ungültig.")
SILENCE = Prompt(text="Keine Eingabe.")


def tree(**menus: dict[str, Any]) -> MenuTree:
    """A menu tree; every menu gets 3 s, 1 retry, the prompts above and a queue default."""
    defaults = {
        "timeout": 3,
        "retries": 1,
        "invalid_prompt": "Ungültig.",
        "timeout_prompt": "Keine Eingabe.",
        "default": {"queue": "vermittlung"},
    }
    return MenuTree.model_validate(
        {"menus": {name: {**defaults, **spec} for name, spec in menus.items()}}
    )


MAIN = tree(
    main={
        "prompt": "Hauptmenü",
        "options": {
            "1": {"submenu": "kfz"},
            "2": {"transfer": "02041 7035-0", "topic": "abfall"},
            "3": {"announce": "Dafür ist der Kreis zuständig."},
            "4": "hangup",
            "9": {"language": "en", "submenu": "english"},
            "#": "repeat",
            "*": "back",
        },
    },
    kfz={
        "prompt": "Kfz",
        "options": {"1": {"queue": "kfz"}, "*": "back", "#": "repeat"},
        "default": {"queue": "kfz"},
    },
    english={"prompt": {"text": {"en": "English"}}, "options": {"1": {"queue": "english"}}},
)


def wait(state: MenuState) -> MenuState:
    """Let the current prompt finish; the digit timer starts."""
    state, effects = step(state, PromptFinished(state.token))
    assert effects == (StartDigitTimer(3, state.token),)
    return state


def test_start_plays_intro_and_prompt() -> None:
    greeting = Prompt(text="Willkommen")
    state, effects = start(MAIN, language="de", intro=[greeting])
    assert effects == (PlayPrompt((greeting, Prompt(text="Hauptmenü")), "de", 1, True, "main"),)
    assert state.menu_id == "main" and not state.done


def test_prompt_finished_starts_the_digit_timer() -> None:
    state, _ = start(MAIN)
    state, effects = step(state, PromptFinished(1))
    assert effects == (StartDigitTimer(3, 2),)


def test_digit_after_prompt_cancels_timer_and_routes() -> None:
    state, _ = start(MAIN)
    state = wait(state)
    state, effects = step(state, DigitPressed("1"))
    assert effects == (CancelDigitTimer(2), PlayPrompt((Prompt(text="Kfz"),), "de", 3, True, "kfz"))
    state = wait(state)
    state, effects = step(state, DigitPressed("1"))
    assert effects == (CancelDigitTimer(4), QueueRoute("kfz", menu="kfz", cause="digit"))
    assert state.done and state.digits == ("1", "1")


def test_barge_in_stops_the_prompt_and_late_finish_is_ignored() -> None:
    state, _ = start(MAIN)
    state, effects = step(state, DigitPressed("1"))
    assert effects[0] == StopPrompt(1)
    assert isinstance(effects[1], PlayPrompt) and effects[1].menu == "kfz"
    # Asterisk still reports the stopped playback as finished: stale, ignored.
    assert step(state, PromptFinished(1)) == (state, ())


def test_no_barge_in_ignores_keys_during_prompt() -> None:
    legal = tree(main={"prompt": "Hinweis", "barge_in": False, "options": {"1": {"queue": "x"}}})
    state, _ = start(legal)
    assert step(state, DigitPressed("1")) == (state, ())
    state = wait(state)
    _, effects = step(state, DigitPressed("1"))
    assert isinstance(effects[-1], QueueRoute)


def test_stale_timer_is_ignored() -> None:
    state, _ = start(MAIN)
    state = wait(state)  # timer 2
    state, _ = step(state, DigitPressed("#"))  # repeat: timer 2 cancelled, prompt 3
    assert step(state, DigitTimeout(2)) == (state, ())
    state = wait(state)  # timer 4
    assert step(state, DigitTimeout(2)) == (state, ())


def test_invalid_key_replays_with_invalid_prompt_then_default() -> None:
    state, _ = start(MAIN)
    state = wait(state)
    state, effects = step(state, DigitPressed("7"))
    assert effects[-1] == PlayPrompt((INVALID, Prompt(text="Hauptmenü")), "de", 3, True, "main")
    state = wait(state)
    state, effects = step(state, DigitPressed("7"))  # retries (1) used up
    assert effects[-1] == QueueRoute("vermittlung", menu="main", cause="retries_exhausted")


def test_silence_replays_with_timeout_prompt_then_default() -> None:
    state, _ = start(MAIN)
    state, _ = step(state, DigitPressed("1"))  # into kfz
    state = wait(state)
    state, effects = step(state, DigitTimeout(state.token))
    assert effects == (PlayPrompt((SILENCE, Prompt(text="Kfz")), "de", 4, True, "kfz"),)
    state = wait(state)
    state, effects = step(state, DigitTimeout(state.token))
    assert effects == (QueueRoute("kfz", menu="kfz", cause="retries_exhausted"),)


def test_back_returns_and_in_start_menu_repeats() -> None:
    state, _ = start(MAIN)
    state, _ = step(state, DigitPressed("1"))
    assert state.menu_id == "kfz"
    state, effects = step(state, DigitPressed("*"))
    assert state.menu_id == "main" and effects[-1].menu == "main"  # type: ignore[union-attr]
    state, effects = step(state, DigitPressed("*"))
    assert state.menu_id == "main" and isinstance(effects[-1], PlayPrompt)


def test_failures_reset_when_entering_a_menu_but_not_on_repeat() -> None:
    state, _ = start(MAIN)
    state, _ = step(state, DigitPressed("7"))
    assert state.failures == 1
    state, _ = step(state, DigitPressed("#"))
    assert state.failures == 1
    state, _ = step(state, DigitPressed("1"))
    assert state.failures == 0


def test_language_switch() -> None:
    state, _ = start(MAIN)
    state, effects = step(state, DigitPressed("9"))
    assert effects[1] == SetLanguage("en")
    assert isinstance(effects[2], PlayPrompt) and effects[2].language == "en"
    assert state.language == "en"


@pytest.mark.parametrize(
    ("digit", "route"),
    [
        ("2", TransferRoute("0204170350", "abfall", menu="main")),
        ("3", AnnounceAndHangup(Prompt(text="Dafür ist der Kreis zuständig."), menu="main")),
        ("4", HangupRoute("Auflegen laut Menü", menu="main")),
    ],
)
def test_terminal_actions(digit: str, route: object) -> None:
    state, _ = start(MAIN)
    state, effects = step(state, DigitPressed(digit))
    assert effects == (StopPrompt(1), route)


def test_town_menu_client_route() -> None:
    towns = tree(main={"prompt": "Stadt?", "options": {"3": {"client": "bottrop"}}})
    state, _ = start(towns)
    _, effects = step(state, DigitPressed("3"))
    assert effects[-1] == ClientRoute("bottrop", menu="main")


def test_hangup_while_playing_and_while_waiting() -> None:
    state, _ = start(MAIN)
    done, effects = step(state, CallerHungUp())
    assert effects == (Abandoned(menu="main", cause="caller_hung_up"),)
    assert done.done
    state = wait(state)
    _, effects = step(state, CallerHungUp())
    assert effects == (CancelDigitTimer(2), Abandoned(menu="main", cause="caller_hung_up"))


def test_everything_after_the_route_is_ignored() -> None:
    state, _ = start(MAIN)
    state, _ = step(state, DigitPressed("4"))
    for event in (DigitPressed("1"), PromptFinished(1), DigitTimeout(2), CallerHungUp()):
        assert step(state, event) == (state, ())


def test_prompt_limit_takes_the_default_at_once() -> None:
    state, _ = start(MAIN, max_prompts=3)
    state, _ = step(state, DigitPressed("#"))  # 2nd prompt
    state, _ = step(state, DigitPressed("1"))  # 3rd prompt (kfz)
    state, effects = step(state, DigitPressed("#"))  # would be the 4th
    assert effects == (StopPrompt(3), QueueRoute("kfz", menu="kfz", cause="prompt_limit"))


def test_prompt_limit_follows_default_submenus() -> None:
    loop = tree(
        main={"prompt": "A", "options": {"1": {"submenu": "sub"}}, "default": {"submenu": "sub"}},
        sub={"prompt": "B", "options": {"*": "back"}, "default": {"queue": "kfz"}},
    )
    state, _ = start(loop, max_prompts=1)
    _, effects = step(state, DigitPressed("1"))
    assert effects[-1] == QueueRoute("kfz", menu="sub", cause="prompt_limit")


def test_broken_trees_end_in_a_hangup_not_a_crash() -> None:
    dangling = tree(main={"prompt": "A", "options": {"1": {"submenu": "nirgends"}}})
    state, _ = start(dangling)
    _, effects = step(state, DigitPressed("1"))
    assert isinstance(effects[-1], HangupRoute) and effects[-1].cause == "broken_menu"

    loop = tree(
        main={"prompt": "A", "default": {"submenu": "sub"}, "retries": 0},
        sub={"prompt": "B", "default": {"submenu": "main"}, "retries": 0},
    )
    state, _ = start(loop, max_prompts=5)
    for _ in range(20):
        if state.done:
            break
        state = wait(state)
        state, _ = step(state, DigitTimeout(state.token))
    assert isinstance(state.route, HangupRoute)


def test_unknown_event_is_a_programming_error() -> None:
    state, _ = start(MAIN)
    with pytest.raises(TypeError):
        step(state, "1")  # type: ignore[arg-type]
