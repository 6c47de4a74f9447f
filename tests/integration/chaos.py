"""Helpers of the chaos tests (test_chaos.py): the app as its own process, and the calls.

The app runs as `stadtruf serve` in a child process, so that a test can kill it with SIGKILL
as an operating system would, or restart it in place (`stadtruf restart`: the same process
executes itself anew); its log goes to a file (a pipe nobody drains would stall it), one per
start, which a restart in place goes on writing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import signal
import sqlite3
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import yaml

from ari_app.application import CONVERSATION_BRIDGE_PREFIX as CONVERSATION_PREFIX
from ari_app.events import Event
from ari_app.handoff import queue_bridge_id
from stadtruf.asterisk.topology import ARI_USER
from stadtruf.config.agents import AgentsConfig
from stadtruf.config.site import agents_path
from stadtruf.core.hours import BERLIN
from stadtruf.core.prompts import media_uri
from stadtruf.core.snapshot import SNAPSHOT_VARIABLE, Snapshot, loads
from stadtruf.paths import sample_config_dir
from stadtruf.store.agent_state import AgentStateFile, SavedAgent
from stadtruf.testcall import OutboundCall, TestCarrier
from tests.integration.conftest import OPEN_AT, Site
from tests.integration.support import Observer, on_channel, playback

SWITCHBOARD = "02041700"  # Bottrop's: the caller goes straight to Bottrop's menu
WAITING_TOPIC = "vermittlung"  # "0" in Bottrop's main menu
T = TypeVar("T")


class ServedApp:
    """`stadtruf serve` against the session's ServiceCenter, restartable, on one clock."""

    def __init__(
        self,
        site: Site,
        directory: Path,
        agents: AgentsConfig,
        ari_url: str | None = None,
        api_host: str | None = None,
    ) -> None:
        self.site = site
        # With `api_host`, the agent state API on it (supervisor token `api_token`).
        self.api_host = api_host
        self.api_token = secrets.token_urlsafe(32)
        self.ari_url = ari_url or site.center.settings.ari_url
        self.directory = directory
        self.config_dir = directory / "config"
        shutil.copytree(sample_config_dir(), self.config_dir)
        data = agents.model_dump(mode="json", exclude_none=True)
        agents_path(self.config_dir).write_text(yaml.safe_dump(data), encoding="utf-8")
        AgentStateFile(directory / "agent-state.json").save(
            {a.id: SavedAgent(logged_in=True) for a in agents.agents}
        )
        # The app's clock at OPEN_AT at the first start, running on through restarts.
        self.offset = datetime.fromisoformat(OPEN_AT).replace(tzinfo=BERLIN).timestamp()
        self.offset -= time.time()
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0
        self.restarted_at = 0  # where the log of this program begins (after a restart in place)

    @property
    def records(self) -> Path:
        return self.directory / "anrufe.sqlite"

    def log(self, start: int) -> Path:
        return self.directory / f"app-{start}.log"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("STADTRUF_")}
        return (
            env
            | {
                "STADTRUF_RUN_DIR": str(self.directory),
                "STADTRUF_ARI_URL": self.ari_url,
                "STADTRUF_ARI_USER": ARI_USER,
                "STADTRUF_ARI_PASSWORD": self.site.password,
            }
            | ({"STADTRUF_API_TOKEN": self.api_token} if self.api_host else {})
        )

    async def start(self) -> None:
        self.starts += 1
        self.restarted_at = 0
        env = self.env()
        moment = datetime.fromtimestamp(time.time() + self.offset, BERLIN).replace(tzinfo=None)
        with self.log(self.starts).open("wb") as log:
            self.process = await asyncio.create_subprocess_exec(
                sys.executable,
                *("-m", "stadtruf.cli", "serve", "--json-logs"),
                *("--config", str(self.config_dir), "--clock-start", moment.isoformat()),
                *("--agent-state", str(self.directory / "agent-state.json")),
                *("--callbacks", str(self.directory / "callbacks.jsonl")),
                *(("--api-address", self.api_host) if self.api_host else ()),
                env=env,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=log,
            )
        await self.logged("queue.agent_device", timeout=30, count=3)

    async def restart(self) -> int:
        """`stadtruf restart`, as an admin runs it; back once the new program has connected
        (the same process: its log goes on in this start's file). Where its log begins."""
        assert self.process is not None
        before = self.mark()
        status, output = await self.restart_command()
        assert status == 0 and "Neu gestartet" in output, output
        await self.logged("app.restarting", timeout=20, after=before)
        text = self.log(self.starts).read_text()
        self.restarted_at = text.index("\n", text.index("app.restarting", before)) + 1
        await self.logged("queue.agent_device", timeout=30, count=3, after=self.restarted_at)
        return self.restarted_at

    async def restart_command(self) -> tuple[int, str]:
        """`stadtruf restart` (it waits for the outcome): its status and what it printed."""
        cli = await asyncio.create_subprocess_exec(
            sys.executable,
            *("-m", "stadtruf.cli", "restart"),
            env=self.env(),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await cli.communicate()
        assert cli.returncode is not None
        return cli.returncode, out.decode()

    def mark(self) -> int:
        """Where this start's log is now (for `logged(after=…)`)."""
        return len(self.log(self.starts).read_text())

    async def logged(
        self,
        text: str,
        *,
        timeout: float,
        count: int = 1,
        after: int = 0,
    ) -> None:
        """Wait until this start's log has `text` `count` times past `after` (or the app died)."""
        async with asyncio.timeout(timeout):
            while self.log(self.starts).read_text()[after:].count(text) < count:
                assert self.process is not None and self.process.returncode is None, self.log(
                    self.starts
                ).read_text()[-3000:]
                await asyncio.sleep(0.1)

    async def queue_done_with(self, channels: Iterable[str], *, timeout: float = 20) -> None:
        """Wait until the app's queue has finished with each of `channels` (it logs
        `queue.call_finished`): the far end may know of a hang-up well before the app."""
        waiting = set(channels)
        async with asyncio.timeout(timeout):
            while waiting:
                log = self.log(self.starts).read_text()[self.restarted_at :]
                for line in log.splitlines():
                    if '"queue.call_finished"' in line:
                        waiting = {c for c in waiting if f'"call": "{c}"' not in line}
                await asyncio.sleep(0.2)

    async def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        await self.process.wait()

    async def stop(self) -> None:
        if self.process is None or self.process.returncode is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise

    def outcomes(self) -> dict[str, tuple[str | None, str]]:
        """Every record: channel → (outcome, menu path)."""
        with contextlib.closing(sqlite3.connect(self.records)) as db:
            rows = db.execute("SELECT call_id, outcome, menu_path FROM call_records").fetchall()
        return {str(c): (o, str(m)) for c, o, m in rows}


@contextlib.asynccontextmanager
async def served(
    site: Site,
    directory: Path,
    agents: AgentsConfig,
    ari_url: str | None = None,
    api_host: str | None = None,
) -> AsyncIterator[ServedApp]:
    app = ServedApp(site, directory, agents, ari_url, api_host)
    try:
        await app.start()
        yield app
    finally:
        await app.stop()


@dataclass
class Caller:
    call: OutboundCall
    channel: str
    number: str


async def arrive(carrier: TestCarrier, observer: Observer, number: str) -> Caller:
    """A call to Bottrop's switchboard, once its menu plays."""
    since = observer.mark()
    call = await carrier.call(SWITCHBOARD, caller=number, answer_timeout=30)
    channel = await observer.channel_of_caller(number, since=since)
    await observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since, timeout=30)
    return Caller(call, channel, number)


async def to_menu(observer: Observer, caller: Caller, digit: str, prompt: str) -> None:
    """Press `digit` and wait until the menu's `prompt` plays."""
    since = observer.mark()
    await caller.call.dtmf(digit)
    await observer.wait_for(playback(caller.channel, prompt), since=since, timeout=30)


async def to_queue(observer: Observer, caller: Caller) -> None:
    since = observer.mark()
    await caller.call.dtmf("0")
    await observer.wait_for(
        in_bridge(caller.channel, queue_bridge_id(WAITING_TOPIC)), since=since, timeout=30
    )


def in_bridge(channel: str, bridge: str) -> Callable[[Event], bool]:
    entered = on_channel(channel, "ChannelEnteredBridge")
    return lambda e: entered(e) and e.bridge_id == bridge


def bottrop_prompt(site: Site, menu: str) -> str:
    return media_uri(site.config.clients["bottrop"].menu.menus[menu].prompt, "de")


async def snapshot_of(observer: Observer, channel: str) -> Snapshot | None:
    return loads(await observer.rest.get_var(channel, SNAPSHOT_VARIABLE))


async def conversations(observer: Observer) -> dict[str, list[str]]:
    """The conversation bridges in Asterisk now: id → members."""
    return {
        str(b["id"]): [str(c) for c in b["channels"]]
        for b in await observer.rest.list_bridges()
        if str(b["id"]).startswith(CONVERSATION_PREFIX)
    }


async def all_of(jobs: Iterable[Awaitable[T]]) -> list[T]:
    return list(await asyncio.gather(*jobs))


async def new_conversations(
    observer: Observer, before: Iterable[str], count: int, *, timeout: float = 30
) -> set[str]:
    """Wait until `count` conversations not in `before` are up (both legs in); their callers."""
    async with asyncio.timeout(timeout):
        while True:
            now = await conversations(observer)
            new = {b for b, members in now.items() if b not in before and len(members) == 2}
            if len(new) >= count:
                return {b.removeprefix(CONVERSATION_PREFIX) for b in new}
            await asyncio.sleep(0.2)


class AriProxy:
    """A relay in front of ARI that can cut the app's event WebSocket while REST goes on,
    as a network hiccup or a slow consumer dropped by `websocket_write_timeout` would.

    `cut(gap)` closes every event WebSocket and turns new ones away for `gap` s.
    """

    def __init__(self, host: str, target_host: str, target_port: int) -> None:
        self.host, self.port = host, target_port
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._sockets: set[asyncio.StreamWriter] = set()
        self._closed_until = 0.0
        self.cuts = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/ari"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, self.host, self.port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            for writer in list(self._sockets):
                writer.close()
            await self._server.wait_closed()

    def cut(self, gap: float) -> None:
        self.cuts += 1
        self._closed_until = time.monotonic() + gap
        for writer in list(self._sockets):
            writer.close()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection(*self._target)
        pair = {writer, up_writer}
        try:
            await asyncio.gather(self._requests(reader, up_writer, pair), _pipe(up_reader, writer))
        finally:
            self._sockets -= pair
            for w in pair:
                w.close()

    async def _requests(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        pair: set[asyncio.StreamWriter],
    ) -> None:
        """The app's side: a connection that asks for the event WebSocket (a fresh one, or one
        of the REST pool's kept-alive connections) is cut with the next `cut`."""
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                if b"GET /ari/events" in data:
                    if time.monotonic() < self._closed_until:
                        break
                    self._sockets |= pair
                writer.write(data)
                await writer.drain()
        for w in pair:
            w.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()
