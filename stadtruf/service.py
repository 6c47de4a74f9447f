"""Running the service center: the Stasis app with a config, until a signal stops it.

SIGHUP (or `stadtruf config reload`) loads the config again. A valid config replaces the old
one for calls that start from then on (calls in progress keep the config they started with);
an invalid one is refused with the same `file:line:col` messages and the old one stays live.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import ssl
import time
from collections.abc import (
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import structlog

from ari_app.application import StasisApplication
from ari_app.call import MenuFlow, Overrides, Sink, log_happened, no_overrides
from ari_app.handoff import WaitingRoom
from ari_app.queue import CallDistributor
from ari_app.settings import AriSettings
from ari_app.sinks import SinkGate, fan_out
from stadtruf import logging as stadtruf_logging
from stadtruf.api.agent_api import DEFAULT_HOST, DEFAULT_PORT, ApiServer, make_api
from stadtruf.api.auth import METRICS_TOKEN_ENV, TOKEN_ENV, ApiAuth
from stadtruf.api.hours_routes import add_hours_routes
from stadtruf.api.metrics import LiveFigures, figure_settings
from stadtruf.api.web import WebSettings, WebUi
from stadtruf.api.web_data import ScreenData
from stadtruf.asterisk.dialplan import numbers_conf
from stadtruf.config import ConfigError, ServiceCenterConfig, load_site
from stadtruf.config.agents import AgentsConfig
from stadtruf.core.hours import BERLIN
from stadtruf.core.lifecycle import Happened
from stadtruf.core.lockout import Throttle
from stadtruf.core.screens import CallBook
from stadtruf.paths import run_dir
from stadtruf.prompt_files import install_prompts
from stadtruf.restart import REFUSED_NOTE as NOTE
from stadtruf.restart import (
    RESTART_SIGNAL,
    Restart,
    release_signals,
    restart_unsupported,
)
from stadtruf.retention import connected_rest, purge_forever
from stadtruf.store.agent_state import AgentStateFile
from stadtruf.store.callbacks import CallbackStore
from stadtruf.store.overrides import OverrideStore
from stadtruf.store.records import RecordStore, open_records

log = structlog.get_logger(__name__)


def running_clock(start: str | None) -> Callable[[], float]:
    """The app's wall clock: the machine's, or (`--clock-start`, for tests and rehearsals)
    one that starts at the given Berlin time and runs on in real time."""
    if start is None:
        return time.time
    moment = datetime.fromisoformat(start)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=BERLIN)
    offset = moment.timestamp() - time.time()
    return lambda: time.time() + offset


def add_clock_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clock-start",
        metavar="ZEIT",
        help="Uhr der App ab dieser Zeit laufen lassen (Tests, Proben), z. B. 2026-06-04T10:00",
    )


@contextlib.contextmanager
def call_records(config: ServiceCenterConfig, clock: Callable[[], float]) -> Iterator[RecordStore]:
    """The records store as configured, open while the service runs: opened (migrated,
    calls a killed process left open closed as lost) before, closed (flushed) after."""
    records = open_records(config, run_dir(), clock)
    try:
        yield records
    finally:
        records.close()


class Records(Protocol):
    """Where calls' records go: a `RecordStore` (or, in tests, several)."""

    def record(self, happened: Happened) -> None: ...

    def wrap_up(self, call_id: str, seconds: float) -> None: ...


def records_sink(records: Records | None) -> Sink:
    """One sink for the call flow and the queue: the log line, and the record if kept (its
    `record` only queues the event: it never blocks the call)."""
    if records is None:
        return log_happened
    return fan_out(log_happened, records.record)


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
        _apply_privacy(config)
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
        _apply_privacy(config)
        log.info("config.reloaded", clients=sorted(config.clients), agents=agents is not None)
        return True


def _apply_privacy(config: ServiceCenterConfig) -> None:
    """The log shows as much of callers' numbers as this config allows (privacy.log_numbers)."""
    stadtruf_logging.set_privacy(
        config.service_center.privacy.log_numbers, config.area_codes.keys()
    )


def build_app(
    settings: AriSettings,
    live: LiveConfig,
    *,
    agents: AgentsConfig | None = None,
    callbacks: CallbackStore | None = None,
    logged_in: Iterable[str] = (),
    agent_state: AgentStateFile | None = None,
    clock: Callable[[], float] = time.time,
    records: Records | None = None,
    overrides: Overrides = no_overrides,
) -> StasisApplication:
    """The Stasis app; with `agents` the queue rings them, without, callers wait on hold."""
    return build_service(
        settings,
        live,
        agents=agents,
        callbacks=callbacks,
        logged_in=logged_in,
        agent_state=agent_state,
        clock=clock,
        records=records,
        overrides=overrides,
    ).app


@dataclass(frozen=True)
class Service:
    app: StasisApplication
    queue: CallDistributor | None  # None without an agents file
    figures: LiveFigures | None = None  # /metrics and /service-level; with the queue
    book: CallBook | None = None  # the calls' records for the agents' screens; with the queue


def build_service(
    settings: AriSettings,
    live: LiveConfig,
    *,
    agents: AgentsConfig | None = None,
    callbacks: CallbackStore | None = None,
    logged_in: Iterable[str] = (),
    agent_state: AgentStateFile | None = None,
    clock: Callable[[], float] = time.time,
    records: Records | None = None,
    overrides: Overrides = no_overrides,
) -> Service:
    """The Stasis app and, with `agents`, the queue that rings them (`logged_in` start so;
    `agent_state` keeps the agents' log-in and pause across restarts).

    `clock` (seconds since the epoch) is the app's wall clock: the opening hours and the
    records' times read it, so a test sets it. `records` gets every call's life and the
    agents' wrap-up; `overrides` are the opening-hours overrides in force."""
    gate = SinkGate()  # closed on a hand-over: cancelled tasks report nothing of the calls
    sink = gate.guard(records_sink(records))
    if agents is None:
        flow = MenuFlow(live, WaitingRoom(sink, clock), clock=clock, sink=sink, overrides=overrides)
        bare = StasisApplication(settings, flow)
        bare.on_hand_over.append(gate.close)
        return Service(bare, None)
    # The queue's agents file, current after a reload: its queues are label values too.
    figures = LiveFigures(
        lambda: figure_settings(live.current, distributor.config), wall_clock=clock
    )
    book = CallBook()
    sink = gate.guard(fan_out(records_sink(records), figures.record, book.record))
    distributor = CallDistributor(
        agents,
        app_name=settings.app,
        language=live.current.service_center.default_language,
        callbacks=callbacks,
        logged_in=logged_in,
        agent_state=agent_state,
        wall_clock=clock,
        sink=sink,
        wrap_up=gate.guard(records.wrap_up) if records is not None else None,
    )
    flow = MenuFlow(live, distributor, clock=clock, sink=sink, overrides=overrides)
    app = StasisApplication(settings, flow, routes=distributor.routes())
    app.on_hand_over.append(gate.close)
    distributor.attach(app)
    if live.agents is not None:

        async def take_new_agents() -> None:
            if live.agents is not None:
                await distributor.reconfigure(live.agents)

        live.on_reloaded.append(take_new_agents)
    return Service(app, distributor, figures, book)


def prepare_instance(
    config: ServiceCenterConfig,
    instance_dir: Path,
    rootfs: Path,
    agents: AgentsConfig | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Everything Asterisk needs from the config: sounds and the numbers dialplan."""
    install_prompts(config, instance_dir, rootfs, agents, clock)
    numbers = numbers_conf(config, agents)
    (instance_dir / "etc" / "stadtruf-numbers.conf").write_text(numbers, encoding="utf-8")


def managed_instance_config(
    directory: Path,
    config: ServiceCenterConfig,
    instance_dir: Path,
    rootfs: Path,
    agents: AgentsConfig | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[LiveConfig, Callable[[StasisApplication], None]]:
    """A LiveConfig whose reloads also update the Asterisk instance (sounds, numbers).

    Returns it with a function that binds the app whose ARI connection reloads the dialplan.
    """
    live = LiveConfig(
        directory,
        config,
        lambda c, a: prepare_instance(c, instance_dir, rootfs, a, clock),
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
    overrides: OverrideStore | None = None  # /hours/overrides (supervisor), if given
    web: WebSettings | None = None  # the web UI's users; None: no web UI
    ssl_context: ssl.SSLContext | None = None  # HTTPS (required outside loopback)


CLOSED_PROMPTS_EVERY_S = 60.0


async def _every(seconds: float, job: Callable[[], object]) -> None:
    while True:
        try:
            await asyncio.to_thread(job)  # rendering speech takes a moment: off the loop
        except Exception:
            log.exception("service.background_job_failed")
        await asyncio.sleep(seconds)


async def run_service(
    service: Service,
    live: LiveConfig | None = None,
    api: ApiSettings | None = None,
    refresh_prompts: Callable[[], object] | None = None,
    tasks: Sequence[Callable[[], Coroutine[object, object, None]]] = (),
    restart: Restart | None = None,
) -> None:
    """Run the app (and with a queue, the agent state API) until SIGINT/SIGTERM (or, with
    `restart`, SIGUSR2: see `stadtruf.restart`);
    `refresh_prompts` (e.g. `closed_prompt_refresher`) at start and every minute; `tasks`
    (e.g. the SIP ban, `stadtruf.asterisk.bans.BanGuard.run`) beside it, and with a callback
    list, its retention (`stadtruf.retention`)."""
    server: ApiServer | None = None
    background: asyncio.Task[None] | None = None
    jobs = [asyncio.create_task(task()) for task in tasks]
    if refresh_prompts is not None:
        background = asyncio.create_task(_every(CLOSED_PROMPTS_EVERY_S, refresh_prompts))
    queue = service.queue
    if queue is not None and queue.callbacks is not None and live is not None:
        retention = purge_forever(
            queue.callbacks,
            lambda: connected_rest(service.app),
            lambda: live.current.service_center.privacy.callback_retention_days,
            queue.shared.wall_clock,
        )
        jobs.append(asyncio.create_task(retention))
    if queue is not None and api is not None:
        auth = ApiAuth.from_env(os.environ, api.passwords)
        throttle = Throttle()
        web_ui = None
        if api.web is not None and live is not None and service.book is not None:
            data = ScreenData(queue.snapshot, queue.clock, service.figures, service.book, live)
            web_ui = WebUi(api.web, data, queue, throttle)
        if auth.enabled or web_ui is not None:
            web_app = make_api(
                queue,
                auth,
                queue.callbacks,
                queue.clock,
                service.figures,
                throttle=throttle,
                web_ui=web_ui,
            )
            if api.overrides is not None:
                add_hours_routes(web_app, api.overrides, queue.shared.wall_clock)
            server = ApiServer(web_app)
            await server.start(api.host, api.port, ssl_context=api.ssl_context)
        else:
            log.warning(
                "api.off",
                hint=f"set {TOKEN_ENV} (supervisors), {METRICS_TOKEN_ENV} or agent passwords",
            )
    try:
        await run_until_signalled(service.app, live, restart)
    finally:
        for task in (background, *jobs):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
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


async def run_until_signalled(
    app: StasisApplication, live: LiveConfig | None = None, restart: Restart | None = None
) -> None:
    """Run the app; SIGINT/SIGTERM stop it cleanly (calls go back to the dialplan); SIGUSR2
    hands the calls over for `restart` (without one, `up`: logged and ignored)."""
    loop = asyncio.get_running_loop()
    stopping: set[asyncio.Task[None]] = set()

    def on_stop(signum: int) -> None:
        log.info("app.signal", signal=signal.Signals(signum).name)
        if restart is not None:
            restart.cancel()
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
    if restart is not None:
        loop.add_signal_handler(RESTART_SIGNAL, restart.request, app)
    else:
        loop.add_signal_handler(RESTART_SIGNAL, restart_unsupported, pid_file().parent / NOTE)
    release_signals()  # held by `serve` until now (stadtruf.restart.signals_held)
    try:
        await app.run()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, RESTART_SIGNAL):
            loop.remove_signal_handler(signum)
        if restart is not None:
            restart.keep_pending()  # until the exit, or for the next program


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
