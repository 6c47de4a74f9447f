"""The sounds a config may play, put into the instance before Asterisk needs them.

Texts are spoken by espeak-ng (stadtruf/tts.py, cached by content); the closed announcements
say when the line opens next, so they change with the date and are rendered again as the days
pass (`closed_prompt_refresher`).
"""

from __future__ import annotations

import itertools
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from ari_app.call import Overrides, no_overrides
from stadtruf.config import ServiceCenterConfig
from stadtruf.config.agents import AgentsConfig
from stadtruf.core.closed import closed_spoken
from stadtruf.core.prompts import SpokenText, spoken_texts
from stadtruf.core.queue_prompts import queue_texts
from stadtruf.tts import EspeakRenderer, render_all

if TYPE_CHECKING:
    from stadtruf.service import LiveConfig


def prompt_cache() -> Path:
    return Path.home() / ".cache" / "stadtruf" / "prompts"


def install_prompts(
    config: ServiceCenterConfig,
    instance_dir: Path,
    rootfs: Path,
    agents: AgentsConfig | None = None,
    clock: Callable[[], float] = time.time,
) -> int:
    """Put every sound the config may play into the instance directory (before it is needed).

    Texts are rendered (cached by content), the queue's announcements and whispers included,
    and the closed announcements of the next days (`closed_prompts`); the config's recordings
    are copied.
    """
    sounds = instance_dir / "sounds"
    rendered = render_all(
        itertools.chain(
            spoken_texts(config), queue_texts(config, agents), closed_prompts(config, clock())
        ),
        sounds / "tts",
        prompt_cache(),
        EspeakRenderer(["chroot", str(rootfs)]),
    )
    recordings = config.service_center.sounds_dir
    if recordings:
        shutil.copytree(config.directory / recordings, sounds / "custom", dirs_exist_ok=True)
    return rendered


def closed_prompts(config: ServiceCenterConfig, now: float) -> list[SpokenText]:
    """The closed announcements calls may hear from today for a week: the text says when the
    line opens next, so it changes with the date; rendered ahead like every other prompt
    (at start and with each reload). Overrides set later announce with the same sentences
    only where they match one of these; see docs/operations.md."""
    since = datetime.fromtimestamp(now, UTC)
    texts = closed_spoken(tuple(config.clients.values()), config.service_center, since)
    return [SpokenText(text, language) for text, language in sorted(texts)]


def closed_prompt_refresher(
    live: LiveConfig,
    instance_dir: Path,
    rootfs: Path,
    clock: Callable[[], float],
    overrides: Overrides = no_overrides,
) -> Callable[[], int]:
    """A job that renders the closed announcements from now for a week, with the overrides in
    force: run at start and every minute (`run_service`), it keeps the announcements on disk
    as the days pass and within a minute of a new override. Rendering is cached by content:
    a run with nothing new costs only the computation."""

    def refresh() -> int:
        config = live.current
        since = datetime.fromtimestamp(clock(), UTC)
        texts = closed_spoken(
            tuple(config.clients.values()), config.service_center, since, overrides=overrides()
        )
        spoken = [SpokenText(text, language) for text, language in sorted(texts)]
        renderer = EspeakRenderer(["chroot", str(rootfs)])
        return render_all(spoken, instance_dir / "sounds" / "tts", prompt_cache(), renderer)

    return refresh
