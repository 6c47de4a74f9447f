"""Which audio a prompt is, for Asterisk: a recording of the config, or the rendered text.

Pure: no file is touched here. Recordings are copied into the instance directory and texts
rendered by `stadtruf.tts` before Asterisk needs them (see `stadtruf.service`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from stadtruf.config.load import ServiceCenterConfig
from stadtruf.config.model import MenuDefaults, MenuTree, Prompt

# Bump when the voice or the audio format changes: every cached rendering is then redone.
_RENDERING_VERSION = "espeak-ng/8k-s16/1"
INSTANCE_SOUNDS = "/stadtruf/sounds/tts"


@dataclass(frozen=True)
class SpokenText:
    text: str
    language: str

    @property
    def key(self) -> str:
        digest = hashlib.sha256(f"{_RENDERING_VERSION}\0{self.language}\0{self.text}".encode())
        return digest.hexdigest()[:20]

    @property
    def media_uri(self) -> str:
        """What ARI's play takes: Asterisk adds the .wav extension itself."""
        return f"sound:{INSTANCE_SOUNDS}/{self.key}"


# Where the config's sounds_dir appears inside Asterisk (the instance dir is /stadtruf).
INSTANCE_RECORDINGS = "/stadtruf/sounds/custom"


def media_uri(prompt: Prompt, language: str) -> str:
    """The ARI media URI; a recording wins over the text (towns replace texts one by one)."""
    if prompt.sound:
        # Asterisk looks in <dir>/<language>/<name> first, then <dir>/<name>.
        return f"sound:{INSTANCE_RECORDINGS}/{prompt.sound}"
    text = prompt.text_for(language)
    if not text:  # the model forbids a prompt with neither; keep the caller out of silence
        return "sound:beep"
    return SpokenText(text, language).media_uri


def _defaults_prompts(defaults: MenuDefaults) -> Iterator[Prompt]:
    for prompt in (defaults.invalid_prompt, defaults.timeout_prompt):
        if prompt is not None:
            yield prompt


def _tree_prompts(tree: MenuTree) -> Iterator[Prompt]:
    for node in tree.menus.values():
        yield node.prompt
        yield from _defaults_prompts(node)
        for action in (*node.options.values(), node.default):
            for name in ("prompt", "announce"):
                value = getattr(action, name, None)
                if isinstance(value, Prompt):
                    yield value


def all_prompts(config: ServiceCenterConfig) -> Iterator[tuple[Prompt, tuple[str, ...]]]:
    """Every prompt of the config with the languages it may be played in."""
    center = config.service_center
    every_language = tuple(
        {center.default_language, *(lang for c in config.clients.values() for lang in c.languages)}
    )
    if center.greeting is not None:
        yield center.greeting, every_language
    for prompt in _defaults_prompts(center.menu_defaults):
        yield prompt, every_language
    if center.unknown_caller.town_menu is not None:
        for prompt in _tree_prompts(center.unknown_caller.town_menu):
            yield prompt, every_language
    for client in config.clients.values():
        if client.greeting is not None:
            yield client.greeting, client.languages
        for prompt in _defaults_prompts(client.menu_defaults):
            yield prompt, client.languages
        for prompt in _tree_prompts(client.menu):
            yield prompt, client.languages


def spoken_texts(config: ServiceCenterConfig) -> Iterator[SpokenText]:
    """The texts Asterisk may have to play as speech (prompts without a recording)."""
    for prompt, languages in all_prompts(config):
        if prompt.sound:
            continue
        for language in languages:
            text = prompt.text_for(language)
            if text:
                yield SpokenText(text, language)
