"""Which audio a prompt is, and that every prompt of the sample config has audio."""

from __future__ import annotations

from dataclasses import replace

from stadtruf.config import load
from stadtruf.config.model import Prompt
from stadtruf.core import menu
from stadtruf.core.prompts import (
    INSTANCE_RECORDINGS,
    INSTANCE_SOUNDS,
    SpokenText,
    media_uri,
    spoken_texts,
)
from stadtruf.paths import sample_config_dir


def test_a_recording_wins_over_the_text() -> None:
    prompt = Prompt(sound="bottrop/begruessung", text="Willkommen")
    assert media_uri(prompt, "de") == f"sound:{INSTANCE_RECORDINGS}/bottrop/begruessung"


def test_a_text_is_played_from_its_rendering_in_the_callers_language() -> None:
    prompt = Prompt(text={"de": "Hallo", "en": "Hello"})
    assert media_uri(prompt, "en") == SpokenText("Hello", "en").media_uri
    assert media_uri(prompt, "de").startswith(f"sound:{INSTANCE_SOUNDS}/")


def test_rendering_key_depends_on_text_and_language_only() -> None:
    assert SpokenText("Hallo", "de").key == SpokenText("Hallo", "de").key
    assert SpokenText("Hallo", "de").key != SpokenText("Hallo", "en").key
    assert SpokenText("Hallo", "de").key != SpokenText("Hallo!", "de").key


def _every_played_prompt() -> set[str]:
    """Drive every menu of the sample config through every key and collect what is played."""
    config = load(sample_config_dir())
    trees = [(c.menu, c.languages) for c in config.clients.values()]
    town = config.service_center.unknown_caller.town_menu
    assert town is not None
    trees.append((town, (config.service_center.default_language,)))
    played: set[str] = set()
    for tree, languages in trees:
        for language in languages:
            for menu_id in tree.menus:
                for key in ["1", "2", "3", "4", "5", "9", "0", "*", "#", None]:
                    state, effects = menu.start(tree, language=language)
                    state = replace(state, menu_id=menu_id)
                    events: list[menu.Event] = [menu.DigitPressed(key)] if key else []
                    for event in events:
                        state, more = menu.step(state, event)
                        effects = (*effects, *more)
                    for effect in effects:
                        if isinstance(effect, menu.PlayPrompt):
                            played.update(media_uri(p, effect.language) for p in effect.prompts)
    return played


def test_every_prompt_a_menu_can_play_is_rendered_before_use() -> None:
    config = load(sample_config_dir())
    rendered = {s.media_uri for s in spoken_texts(config)}
    missing = {uri for uri in _every_played_prompt() if uri not in rendered}
    assert not missing
