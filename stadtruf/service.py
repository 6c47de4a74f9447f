"""Running the service center: the Stasis app with a config, until a signal stops it.

SIGHUP (or `stadtruf config reload`) loads the config again. A valid config replaces the old
one for calls that start from then on (calls in progress keep the config they started with);
an invalid one is refused with the same `file:line:col` messages and the old one stays live.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from ari_app import call as menu_calls
from ari_app.application import StasisApplication
from ari_app.call import MenuFlow
from ari_app.handoff import WaitingRoom
from ari_app.queue import CallDistributor
from ari_app.queue import shared as queue_calls
from ari_app.settings import AriSettings
from ari_app.sinks import fan_out
from stadtruf.api.agent_api import DEFAULT_HOST, DEFAULT_PORT, ApiServer, make_api
from stadtruf.api.auth import METRICS_TOKEN_ENV, TOKEN_ENV, ApiAuth
from stadtruf.api.metrics import LiveFigures, figure_settings
from stadtruf.asterisk.dialplan import numbers_conf
from stadtruf.config import ConfigError, ServiceCenterConfig, load_site
from stadtruf.config.agents import AgentsConfig
from stadtruf.core.prompts import spoken_texts
from stadtruf.core.queue_prompts import queue_texts
from stadtruf.paths import run_dir
from stadtruf.store.agent_state import AgentStateFile
from stadtruf.store.callbacks import CallbackStore
from stadtruf.tts import EspeakRenderer, render_all

log = structlog.get_logger(__name__)


def prompt_cache() -> Path:
    return Path.home() / ".cache" / "stadtruf" / "prompts"


def install_prompts(
    config: ServiceCenterConfig,
    instance_dir: Path,
    rootfs: Path,
    agents: AgentsConfig | None = None,
) -> int:
    """Put every sound the config may play into the instance directory (before it is needed).

    Texts are rendered (cached by content), the queue's announcements and whispers included;
    the config's recordings are copied.
    """
    sounds = instance_dir / "sounds"
    rendered = render_all(
        itertools.chain(spoken_texts(config), queue_texts(config, agents)),
        sounds / "tts",
        prompt_cache(),
        EspeakRenderer(["chroot", str(rootfs)]),
    )
    recordings = config.service_center.sounds_dir
    if recordings:
        shutil.copytree(config.directory / recordings, sounds / "custom", dirs_exist_ok=True)
    return rendered


class LiveConfig:
    """The config new calls get; replaced as a whole on a successful reload.

    With `agents` (the service runs a queue), a reload reads the agents file too and checks it
    against the new config: both go live together, or neither does.
    """

    def __init__(
        self,
        directory: Path,
        config: ServiceCenterConfig,
        prepare: Callable[[ServiceCenterConfig, AgentsConfig | None], object] | None = None,
        activate: Callable[[], Awaitable[None]] | None = None,
        *,
        agents: AgentsConfig | None = None,
    ) -> None:
        """`prepare` readies files for a new config (prompts, numbers dialplan) before it goes
        live; `activate` runs after, on the event loop (e.g. Asterisk's dialplan reload);
        then every hook in `on_reloaded` (e.g. the queue taking the new agents file)."""
        self.directory = directory
        self.current = config
        self.agents = agents
        self._prepare = prepare
        self.activate = activate
        self.on_reloaded: list[Callable[[], Awaitable[None]]] = []

    def __call__(self) -> ServiceCenterConfig:
        return self.current

    def reload(self) -> bool:
        try:
            # A running queue needs its agents file; without a queue it is checked, not used.
            site = load_site(self.directory, require_agents=self.agents is not None)
            config = site.config
            agents = site.agents if self.agents is not None else None
            if self._prepare is not None:
                self._prepare(config, agents)
        except ConfigError as exc:
            log.error("config.reload_refused", problems=[str(p) for p in exc.problems])
            return False
        except Exception:
            log.exception("config.reload_failed")
            return False
        self.current = config
        self.agents = agents
        log.info("config.reloaded", clients=sorted(config.clients), agents=agents is not None)
        return True


def build_app(
    settings: AriSettings,
    live: LiveConfig,
    *,
    agents: AgentsConfig | None = None,
    callbacks: CallbackStore | None = None,
    logged_in: Iterable[str] = (),
    agent_state: AgentStateFile | None = None,
) -> StasisApplication:
    """The Stasis app; with `agents` the queue rings them, without, callers wait on hold."""
    return build_service(
        settings,
        live,
        agents=agents,
        callbacks=callbacks,
        logged_in=logged_in,
        agent_state=agent_state,
    ).app


@dataclass(frozen=True)
class Service:
    app: StasisApplication
    queue: CallDistributor | None  # None without an agents file
    figures: LiveFigures | None = None  # /metrics and /service-level; with the queue


def build_service(
    settings: AriSettings,
    live: LiveConfig,
    *,
    agents: AgentsConfig | None = None,
    callbacks: CallbackStore | None = None,
    logged_in: Iterable[str] = (),
    agent_state: AgentStateFile | None = None,
) -> Service:
    """The Stasis app and, with `agents`, the queue that rings them (`logged_in` start so;
    `agent_state` keeps the agents' log-in and pause across restarts)."""
    if agents is None:
        return Service(StasisApplication(settings, MenuFlow(live, WaitingRoom())), None)
    # The queue's agents file, current after a reload: its queues are label values too.
    figures = LiveFigures(lambda: figure_settings(live.current, distributor.config))
    distributor = CallDistributor(
        agents,
        app_name=settings.app,
        language=live.current.service_center.default_language,
        callbacks=callbacks,
        logged_in=logged_in,
        agent_state=agent_state,
        sink=fan_out(queue_calls.log_happened, figures.record),
    )
    flow = MenuFlow(live, distributor, sink=fan_out(menu_calls.log_happened, figures.record))
    app = StasisApplication(settings, flow, routes=distributor.routes())
    distributor.attach(app)
    if live.agents is not None:

        async def take_new_agents() -> None:
            if live.agents is not None:
                await distributor.reconfigure(live.agents)

        live.on_reloaded.append(take_new_agents)
    return Service(app, distributor, figures)


def prepare_instance(
    config: ServiceCenterConfig,
    instance_dir: Path,
    rootfs: Path,
    agents: AgentsConfig | None = None,
) -> None:
    """Everything Asterisk needs from the config: sounds and the numbers dialplan."""
    install_prompts(config, instance_dir, rootfs, agents)
    numbers = numbers_conf(config, agents)
    (instance_dir / "etc" / "stadtruf-numbers.conf").write_text(numbers, encoding="utf-8")


def managed_instance_config(
    directory: Path,
    config: ServiceCenterConfig,
    instance_dir: Path,
    rootfs: Path,
    agents: AgentsConfig | None = None,
) -> tuple[LiveConfig, Callable[[StasisApplication], None]]:
    """A LiveConfig whose reloads also update the Asterisk instance (sounds, numbers).

    Returns it with a function that binds the app whose ARI connection reloads the dialplan.
    """
    live = LiveConfig(
        directory,
        config,
        lambda c, a: prepare_instance(c, instance_dir, rootfs, a),
        agents=agents,
    )

    def bind(app: StasisApplication) -> None:
        async def activate() -> None:
            await app.rest.reload_module("pbx_config.so")
            log.info("asterisk.dialplan_reloaded")

        live.activate = activate

    return live, bind


@dataclass(frozen=True)
class ApiSettings:
    """Where the agent state API listens, and who may use it (see stadtruf.api.agent_api)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    passwords: Mapping[str, str] = field(default_factory=dict, repr=False)  # agent → SIP pw


async def run_service(
    service: Service, live: LiveConfig | None = None, api: ApiSettings | None = None
) -> None:
    """Run the app (and with a queue, the agent state API) until SIGINT/SIGTERM."""
    server: ApiServer | None = None
    queue = service.queue
    if queue is not None and api is not None:
        auth = ApiAuth.from_env(os.environ, api.passwords)
        if auth.enabled:
            server = ApiServer(make_api(queue, auth, queue.callbacks, queue.clock, service.figures))
            await server.start(api.host, api.port)
        else:
            log.warning(
                "api.off",
                hint=f"set {TOKEN_ENV} (supervisors), {METRICS_TOKEN_ENV} or agent passwords",
            )
    try:
        await run_until_signalled(service.app, live)
    finally:
        if server is not None:
            await server.close()


async def apply_reload(live: LiveConfig) -> bool:
    """What SIGHUP (`stadtruf config reload`) does: load, check, prepare, then go live."""
    # Loading and rendering prompts take a moment: keep them off the event loop.
    if not await asyncio.get_running_loop().run_in_executor(None, live.reload):
        return False
    if live.activate is not None:
        await live.activate()
    for hook in live.on_reloaded:
        await hook()
    return True


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
        await apply_reload(live)

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
