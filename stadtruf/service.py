"""Running the service center: the Stasis app with a config, until a signal stops it."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Iterator
from pathlib import Path

import structlog

from ari_app.application import StasisApplication
from ari_app.call import GreetingFlow
from ari_app.settings import AriSettings
from stadtruf.config import load
from stadtruf.config.load import ServiceCenterConfig
from stadtruf.config.model import Prompt
from stadtruf.tts import EspeakRenderer, SpokenText, render_all

log = structlog.get_logger(__name__)

DEFAULT_GREETING = "Willkommen beim ServiceCenter."
GOODBYE = ("sound:vm-goodbye",)


def media_for(prompt: Prompt | None, language: str, fallback_text: str) -> tuple[str, ...]:
    """ARI media URIs for a prompt: the recording if there is one, else the spoken text."""
    if prompt is not None and prompt.sound:
        return (f"sound:{prompt.sound}",)
    text = (prompt.text_for(language) if prompt is not None else None) or fallback_text
    return (SpokenText(text, language).media_uri,)


def spoken_texts(config: ServiceCenterConfig) -> Iterator[SpokenText]:
    """Every text of the config that Asterisk may have to play (rendered before start)."""
    center = config.service_center
    greeting = center.greeting
    if greeting is None or not greeting.sound:
        text = greeting.text_for(center.default_language) if greeting else None
        yield SpokenText(text or DEFAULT_GREETING, center.default_language)


def render_prompts(config: ServiceCenterConfig, instance_dir: Path, rootfs: Path) -> int:
    cache = Path.home() / ".cache" / "stadtruf" / "prompts"
    return render_all(
        spoken_texts(config),
        instance_dir / "sounds" / "tts",
        cache,
        EspeakRenderer(["chroot", str(rootfs)]),
    )


def build_app(settings: AriSettings, config: ServiceCenterConfig) -> StasisApplication:
    center = config.service_center
    flow = GreetingFlow(
        greeting=media_for(center.greeting, center.default_language, DEFAULT_GREETING),
        goodbye=GOODBYE,
        language=center.default_language,
    )
    return StasisApplication(settings, flow)


async def run_until_signalled(app: StasisApplication) -> None:
    """Run the app; SIGINT/SIGTERM stop it cleanly (calls go back to the dialplan)."""
    loop = asyncio.get_running_loop()
    stopping: set[asyncio.Task[None]] = set()

    def on_signal(signum: int) -> None:
        log.info("app.signal", signal=signal.Signals(signum).name)
        task = asyncio.create_task(app.stop())
        stopping.add(task)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        await app.run()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)


__all__ = ["build_app", "load", "media_for", "render_prompts", "run_until_signalled"]
