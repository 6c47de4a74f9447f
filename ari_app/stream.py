"""The ARI event WebSocket as an endless async iterator of `Event`s.

Asterisk restarts, network blips and dead TCP connections are normal for a switchboard that runs
for months, so the stream reconnects forever and never raises for them. Each (re)connect runs
`on_connect` before more events are yielded: channels may have entered or left Stasis while we
were away, and the app resyncs from REST there. Events that arrive during `on_connect` are
buffered, not lost; the app must treat them idempotently (a StasisStart for a channel the resync
already saw, a StasisEnd for one it never saw).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

import aiohttp
import structlog

from ari_app.connection import base_url_of, basic_auth_header
from ari_app.events import Event, parse_event

__all__ = ["EventStream", "OnConnect", "next_delay"]

log = structlog.get_logger(__name__)

OnConnect = Callable[[], Awaitable[None]]
_T = TypeVar("_T")


def next_delay(
    attempt: int,
    rng: Callable[[], float] = random.random,
    *,
    base: float = 0.2,
    cap: float = 10.0,
) -> float:
    """Seconds to wait before reconnect number `attempt` (0-based) after a failure.

    Exponential growth up to `cap` with "equal jitter": a random value in [ceiling/2, ceiling],
    so many app instances restarted by the same Asterisk restart do not reconnect in lockstep,
    yet none retries in a tight loop. `rng` returns floats in [0, 1).
    """
    if attempt < 0:
        raise ValueError(f"attempt must be >= 0, got {attempt}")
    ceiling = min(cap, base * 2.0 ** min(attempt, 64))
    return ceiling / 2 + ceiling / 2 * rng()


class EventStream:
    """``async for event in EventStream(...)`` until `close()` is called.

    Iterate it once, from one task; `close()` may be called from any task of the same loop.
    The aiohttp session belongs to the caller and is left open.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        app: str,
        username: str,
        password: str,
        *,
        subscribe_all: bool = False,
        on_connect: OnConnect | None = None,
        heartbeat: float | None = 10.0,
        connect_timeout: float = 10.0,
        healthy_after: float = 10.0,
        delay: Callable[[int], float] = next_delay,
    ) -> None:
        """`heartbeat`: seconds between WebSocket pings; a missing pong drops the connection.

        `healthy_after`: a connection that lasted this long resets the backoff, so a crash-looping
        Asterisk that accepts and drops us at once still sees growing delays.
        `delay`: the reconnect policy, `next_delay` unless a test needs determinism.
        """
        if not app or "," in app:
            raise ValueError(f"app must be one Stasis application name, got {app!r}")
        base = base_url_of(base_url)
        self._session = session
        self._app = app
        self._username = username
        self._auth_headers = basic_auth_header(username, password)
        scheme = "wss" if base.scheme == "https" else "ws"
        self._url = base.with_scheme(scheme).with_path(base.path + "/events")
        self._params = {"app": app, "subscribeAll": "true" if subscribe_all else "false"}
        self._on_connect = on_connect
        self._heartbeat = heartbeat
        self._connect_timeout = connect_timeout
        self._healthy_after = healthy_after
        self._delay = delay
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._closed = False
        self._closing = asyncio.Event()
        self._iterating = False

    def __repr__(self) -> str:
        return f"EventStream(url={self.url!r}, username={self._username!r}, closed={self._closed})"

    @property
    def url(self) -> str:
        """The WebSocket URL, without credentials (those go in the Authorization header)."""
        return str(self._url.with_query(self._params))

    @property
    def connected(self) -> bool:
        return self._ws is not None and not self._ws.closed

    def __aiter__(self) -> AsyncIterator[Event]:
        if self._iterating:
            raise RuntimeError("EventStream is already being iterated; iterate it only once")
        self._iterating = True
        return self._events()

    async def close(self) -> None:
        """End the iteration: the pending or next `__anext__` raises StopAsyncIteration."""
        self._closed = True
        self._closing.set()
        ws = self._ws
        if ws is not None and not ws.closed:
            await ws.close()

    async def _events(self) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        attempt = 0
        while not self._closed:
            ws = await self._connect()
            if ws is not None:
                started = loop.time()
                try:
                    if await self._resync():
                        async for event in self._receive(ws):
                            yield event
                finally:
                    self._ws = None
                    await ws.close()
                uptime = loop.time() - started
                (log.info if self._closed else log.warning)(
                    "ari.stream.disconnected",
                    app=self._app,
                    uptime_s=round(uptime, 3),
                    close_code=ws.close_code,
                    error=_describe(ws.exception()),
                )
                if uptime >= self._healthy_after:
                    attempt = 0
            if self._closed:
                break
            delay = self._delay(attempt)
            attempt += 1
            log.info("ari.stream.reconnect_scheduled", app=self._app, delay_s=round(delay, 3))
            if await self._sleep(delay):
                break
        log.info("ari.stream.closed", app=self._app)

    async def _connect(self) -> aiohttp.ClientWebSocketResponse | None:
        """One connection attempt; None if it failed (already logged) or we were closed."""
        try:
            ws = await self._unless_closed(self._open())
        except aiohttp.WSServerHandshakeError as exc:
            if exc.status in (401, 403):
                log.error(
                    "ari.stream.auth_rejected",
                    url=self.url,
                    username=self._username,
                    status=exc.status,
                    hint="check the password and app permissions of this user in ari.conf",
                )
            else:
                log.warning("ari.stream.connect_failed", url=self.url, status=exc.status)
            return None
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("ari.stream.connect_failed", url=self.url, error=_describe(exc))
            return None
        except Exception:
            # Not a network condition we know; still retry, since the switchboard must come back
            # by itself, but keep the traceback for whoever reads the log.
            log.exception("ari.stream.connect_failed_unexpectedly", url=self.url)
            return None
        if ws is None:
            return None
        if self._closed:  # close() raced with a connect that had just succeeded
            await ws.close()
            return None
        self._ws = ws
        log.info("ari.stream.connected", url=self.url, app=self._app)
        return ws

    async def _open(self) -> aiohttp.ClientWebSocketResponse:
        async with asyncio.timeout(self._connect_timeout):
            return await self._session.ws_connect(
                self._url,
                params=self._params,
                headers=self._auth_headers,
                heartbeat=self._heartbeat,
                timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=self._connect_timeout),
            )

    async def _resync(self) -> bool:
        """Run on_connect. On failure drop the connection: events on top of a stale view of
        the calls would do more harm than a short reconnect delay."""
        if self._on_connect is None:
            return True
        try:
            await self._on_connect()
        except Exception:
            log.exception("ari.stream.on_connect_failed", app=self._app)
            return False
        return not self._closed

    async def _receive(self, ws: aiohttp.ClientWebSocketResponse) -> AsyncIterator[Event]:
        while True:
            msg = await ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                try:
                    event = parse_event(msg.data)
                except ValueError as exc:
                    # One bad frame must not cost us the calls in progress.
                    log.warning("ari.stream.bad_frame", app=self._app, error=str(exc))
                    continue
                yield event
            elif msg.type is aiohttp.WSMsgType.BINARY:
                log.warning("ari.stream.bad_frame", app=self._app, error="unexpected binary frame")
            elif msg.type in (
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            ):
                return

    async def _sleep(self, seconds: float) -> bool:
        """Sleep, cut short by close(). Returns True if closed."""
        try:
            async with asyncio.timeout(seconds):
                await self._closing.wait()
        except TimeoutError:
            pass
        return self._closed

    async def _unless_closed(self, coro: Awaitable[_T]) -> _T | None:
        """Await `coro` unless close() comes first (a connect to a black hole can take long)."""
        task = asyncio.ensure_future(coro)
        closing = asyncio.ensure_future(self._closing.wait())
        try:
            await asyncio.wait({task, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            closing.cancel()
            if not task.done():
                task.cancel()
        if task.cancelled():
            return None
        return task.result()


def _describe(exc: BaseException | None) -> str | None:
    if exc is None:
        return None
    return str(exc) or type(exc).__name__
