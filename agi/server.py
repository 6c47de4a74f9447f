"""The FastAGI server: one short session per AGI() call in the dialplan.

A session reads the environment, asks the pure core (`stadtruf.core.fastagi`) for the answer,
sets its channel variables (SET VARIABLE), logs its lines into Asterisk's log (VERBOSE) and
closes. Commands are panoramisk routes (async handlers only: panoramisk 1.4 wraps any other in
`asyncio.coroutine`, which Python 3.11 no longer has); `handler` replaces panoramisk's own
connection handler (see `agi.protocol`).

A hang-up or a vanished peer ends a session quietly; every other failure is logged and the
call gets STADTRUF_AGI_STATUS=ERROR if the channel still listens. A session is bounded in time
(`session_timeout`); the dialplan bounds its wait for us too (docs/fastagi.md), so neither side
holds a call.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from panoramisk.fast_agi import Application, Request

from agi.protocol import (
    MAX_LINE,
    AgiError,
    AgiHangup,
    AgiProtocolError,
    command,
    quote,
    read_environment,
)
from stadtruf.config import ServiceCenterConfig
from stadtruf.core.fastagi import (
    COMMANDS,
    ERROR,
    STATUS,
    AgiRequest,
    Answer,
    decide,
    parse_environment,
)

log = structlog.get_logger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4573  # FastAGI's registered port
SESSION_TIMEOUT = 10.0
VERBOSE_LEVEL = 3  # Asterisk's "    -- " lines: seen with `core set verbose 3`
ERROR_LEVEL = 1


class Session(Request):
    """panoramisk's request, with the environment as the core read it."""

    def __init__(self, app: AgiServer, call: AgiRequest, reader: Any, writer: Any) -> None:
        super().__init__(app=app, headers=dict(call.env), reader=reader, writer=writer)
        self.call = call


class AgiServer(Application):
    """The routes `origin`, `route`, `open` over one config (`config()` is read per call)."""

    def __init__(
        self,
        config: Callable[[], ServiceCenterConfig],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        session_timeout: float = SESSION_TIMEOUT,
    ) -> None:
        super().__init__(loop=asyncio.get_running_loop())
        self.config = config
        self.now = now
        self.session_timeout = session_timeout
        self.sessions: set[asyncio.Task[None]] = set()
        for name in COMMANDS:
            self.add_route(name, self.answer)

    async def handler(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """One connection from Asterisk, start to close; never raises."""
        task = asyncio.current_task()
        assert task is not None
        self.sessions.add(task)
        peer = writer.get_extra_info("peername")
        session: Session | None = None
        try:
            with structlog.contextvars.bound_contextvars(peer=str(peer)):
                async with asyncio.timeout(self.session_timeout):
                    call = parse_environment(await read_environment(reader))
                    session = Session(self, call, reader, writer)
                    with structlog.contextvars.bound_contextvars(
                        command=call.command, channel=call.env.get("agi_channel")
                    ):
                        route = self._route.get(call.command, self.answer)
                        await route(session)
        except AgiHangup as exc:
            log.info("agi.hangup", peer=str(peer), reason=str(exc))
        except (AgiError, TimeoutError) as exc:
            log.warning("agi.session_failed", peer=str(peer), reason=str(exc) or "timeout")
            if isinstance(exc, AgiProtocolError) and session is None:
                await _refuse(reader, writer, str(exc))
        except Exception:
            log.exception("agi.session_crashed", peer=str(peer))
            if session is not None:
                await _refuse(reader, writer, "internal error, see the stadtruf agi log")
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self.sessions.discard(task)

    async def answer(self, session: Session) -> None:
        """Every command: the core decides, the channel gets the variables."""
        call = session.call
        channel_client = None
        if call.needs_channel_client:
            reply = await command(session, "GET VARIABLE STADTRUF_CLIENT")
            channel_client = reply.data if reply.result == "1" else None
        answer = decide(self.config(), call, self.now(), channel_client)
        await send(session, answer)
        log.info(
            "agi.answered",
            status=dict(answer.variables).get(STATUS),
            variables=dict(answer.variables),
        )

    async def start(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> asyncio.Server:
        """Listen; stop with `close`."""
        self.warm_up()
        return await asyncio.start_server(self.handler, host, port, limit=MAX_LINE)

    def warm_up(self) -> None:
        """Answer `open` once per client before the first call: the public holidays are
        computed on first use (a third of a second), inside the dialplan's time bound else."""
        config = self.config()
        for client in config.clients:
            call = parse_environment(
                [b"agi_network_script: open", f"agi_arg_1: client={client}".encode()]
            )
            decide(config, call, self.now())

    async def close(self, server: asyncio.Server) -> None:
        server.close()
        for task in list(self.sessions):
            task.cancel()
        await asyncio.gather(*self.sessions, return_exceptions=True)
        await server.wait_closed()


async def send(session: Request, answer: Answer) -> None:
    """Log lines first (an admin sees why even if the variables fail), then the variables."""
    level = VERBOSE_LEVEL if answer.ok else ERROR_LEVEL
    for line in answer.log:
        await command(session, f"VERBOSE {quote(line)} {level}")
    for name, value in answer.variables:
        await command(session, f"SET VARIABLE {name} {quote(value)}")


async def _refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, why: str) -> None:
    """Best effort: tell the channel it got no answer, if it still listens."""
    request = Request(app=None, headers={}, reader=reader, writer=writer)
    with contextlib.suppress(AgiError, OSError):
        await command(
            request, f"VERBOSE {quote('stadtruf agi: error: ' + why)} {ERROR_LEVEL}", within=1
        )
        await command(request, f"SET VARIABLE {ERROR} {quote(why)}", within=1)
        await command(request, f"SET VARIABLE {STATUS} ERROR", within=1)
