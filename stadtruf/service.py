"""Running the service center: the Stasis app with a config, until a signal stops it.

SIGHUP (or `stadtruf config reload`) loads the config again. A valid config replaces the old
one for calls that start from then on (calls in progress keep the config they started with);
an invalid one is refused with the same `file:line:col` messages and the old one stays live.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import structlog

from ari_app.application import StasisApplication
from ari_app.call import MenuFlow
from ari_app.handoff import WaitingRoom
from ari_app.settings import AriSettings
from stadtruf.agents import AgentsConfig
from stadtruf.asterisk.dialplan import render_numbers_context
from stadtruf.config import ConfigError, load
from stadtruf.config.load import ServiceCenterConfig
from stadtruf.paths import run_dir
from stadtruf.prompts import spoken_texts
from stadtruf.tts import EspeakRenderer, render_all

log = structlog.get_logger(__name__)


def prompt_cache() -> Path:
    return Path.home() / ".cache" / "stadtruf" / "prompts"


def install_prompts(config: ServiceCenterConfig, instance_dir: Path, rootfs: Path) -> int:
    """Put every sound the config may play into the instance directory (before it is needed).

    Texts are rendered (cached by content); the config's recordings are copied.
    """
    sounds = instance_dir / "sounds"
    rendered = render_all(
        spoken_texts(config),
        sounds / "tts",
        prompt_cache(),
        EspeakRenderer(["chroot", str(rootfs)]),
    )
    recordings = config.service_center.sounds_dir
    if recordings:
        shutil.copytree(config.directory / recordings, sounds / "custom", dirs_exist_ok=True)
    return rendered


class LiveConfig:
    """The config new calls get; replaced as a whole on a successful reload."""

    def __init__(
        self,
        directory: Path,
        config: ServiceCenterConfig,
        prepare: Callable[[ServiceCenterConfig], None] | None = None,
        activate: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        """`prepare` readies files for a new config (prompts, numbers dialplan) before it goes
        live; `activate` runs after, on the event loop (e.g. Asterisk's dialplan reload)."""
        self.directory = directory
        self.current = config
        self._prepare = prepare
        self.activate = activate

    def __call__(self) -> ServiceCenterConfig:
        return self.current

    def reload(self) -> bool:
        try:
            config = load(self.directory)
            if self._prepare is not None:
                self._prepare(config)
        except ConfigError as exc:
            log.error("config.reload_refused", problems=[str(p) for p in exc.problems])
            return False
        except Exception:
            log.exception("config.reload_failed")
            return False
        self.current = config
        log.info("config.reloaded", clients=sorted(config.clients))
        return True


def build_app(
    settings: AriSettings, live: LiveConfig, *, agents: AgentsConfig | None = None
) -> StasisApplication:
    """The Stasis app; with `agents` the queue rings them, without, callers wait on hold."""
    del agents  # the ARI queue adapter takes them (issue #4, in progress)
    return StasisApplication(settings, MenuFlow(config=live, handoff=WaitingRoom()))


def prepare_instance(config: ServiceCenterConfig, instance_dir: Path, rootfs: Path) -> None:
    """Everything Asterisk needs from the config: sounds and the numbers dialplan."""
    install_prompts(config, instance_dir, rootfs)
    numbers = render_numbers_context(config.switchboards.keys())
    (instance_dir / "etc" / "stadtruf-numbers.conf").write_text(numbers, encoding="utf-8")


def managed_instance_config(
    directory: Path, config: ServiceCenterConfig, instance_dir: Path, rootfs: Path
) -> tuple[LiveConfig, Callable[[StasisApplication], None]]:
    """A LiveConfig whose reloads also update the Asterisk instance (sounds, numbers).

    Returns it with a function that binds the app whose ARI connection reloads the dialplan.
    """
    live = LiveConfig(directory, config, lambda c: prepare_instance(c, instance_dir, rootfs))

    def bind(app: StasisApplication) -> None:
        async def activate() -> None:
            await app.rest.reload_module("pbx_config.so")
            log.info("asterisk.dialplan_reloaded")

        live.activate = activate

    return live, bind


async def run_until_signalled(app: StasisApplication, live: LiveConfig | None = None) -> None:
    """Run the app; SIGINT/SIGTERM stop it cleanly (calls go back to the dialplan)."""
    loop = asyncio.get_running_loop()
    stopping: set[asyncio.Task[None]] = set()

    def on_stop(signum: int) -> None:
        log.info("app.signal", signal=signal.Signals(signum).name)
        task = asyncio.create_task(app.stop())
        stopping.add(task)

    async def reload() -> None:
        assert live is not None
        # Loading and rendering prompts take a moment: keep them off the event loop.
        if await loop.run_in_executor(None, live.reload) and live.activate is not None:
            await live.activate()

    def on_reload() -> None:
        if live is not None:
            task = asyncio.create_task(reload())
            stopping.add(task)
            task.add_done_callback(stopping.discard)

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_stop, signum)
    loop.add_signal_handler(signal.SIGHUP, on_reload)
    try:
        await app.run()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            loop.remove_signal_handler(signum)


def pid_file() -> Path:
    return run_dir() / "stadtruf.pid"


@contextlib.contextmanager
def written_pid() -> Iterator[None]:
    """Leave our pid for `stadtruf config reload` while the service runs."""
    path = pid_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{os.getpid()}\n")
    try:
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def read_pid() -> int | None:
    try:
        pid = int(pid_file().read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError, PermissionError):
        return None
    return pid
