"""What every part of the queue adapter shares: the REST client, clocks, the engine's inbox,
the call's life sink, and the signals the parts send to a call's task."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import structlog

from ari_app.application import CallSignal
from ari_app.errors import AriError
from ari_app.events import Event
from ari_app.port import Ari
from stadtruf.config.agents import AgentsConfig, OverflowAction
from stadtruf.core import queue as q
from stadtruf.core.lifecycle import Happened, LifeEvent

if TYPE_CHECKING:
    from ari_app.queue.conversation import Conversation

log = structlog.get_logger(__name__)

Sink = Callable[[Happened], None]


def log_happened(happened: Happened) -> None:
    """The default sink: one log line per event of a call's life."""
    event = happened.event
    # `what`, not `event`: structlog's own first argument is called `event`.
    log.info(
        "call.life", what=type(event).__name__, call=happened.call_id, at=happened.at, **vars(event)
    )


class Shared:
    """The queue's wiring, one per `CallDistributor`, handed to each of its parts.

    `clock` is the engine's (monotonic) time, `wall_clock` seconds since the epoch for what
    people read (callback requests, the call's life). Both are injected, so tests set them.
    """

    def __init__(
        self,
        config: AgentsConfig,
        *,
        app_name: str,
        language: str,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
        sink: Sink,
        wrap_up: Callable[[str, float], None] | None = None,
    ) -> None:
        self.config = config
        self.wrap_up = wrap_up  # (call, seconds): the agent's wrap-up after a call
        self.app_name = app_name
        self.language = language  # the agents' (whisper)
        self.clock = clock
        self.wall_clock = wall_clock
        self.sink = sink
        self._rest: Ari | None = None
        self._connected = asyncio.Event()
        # Events with an optional future the worker resolves once their effects are done.
        self.inbox: asyncio.Queue[tuple[q.Event, asyncio.Future[None] | None]] = asyncio.Queue()
        self._tasks: set[asyncio.Task[None]] = set()
        self._wall_offset: float | None = None  # wall_clock() - clock(), see `_offset`

    @property
    def rest(self) -> Ari:
        if self._rest is None:
            raise RuntimeError("the queue is not connected to Asterisk yet")
        return self._rest

    @property
    def connected(self) -> bool:
        return self._rest is not None

    def connect(self, rest: Ari) -> None:
        self._rest = rest
        self._connected.set()

    async def wait_connected(self) -> None:
        """Until the first `connect`: a call adopted on connect may run before the queue's
        connect hook (`StasisApplication._resync`), and needs `rest`."""
        if not self._connected.is_set():
            await self._connected.wait()

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.wall_clock(), UTC)

    def engine_time(self, wall_time: float) -> float:
        """`wall_time` (a `queued_at` from before a restart) on the engine's clock, never
        later than now."""
        now = self.clock()
        return min(now, wall_time - self._offset(now))

    def wall_time(self, engine_time: float) -> float:
        """`engine_time` (a caller's arrival) in seconds since the epoch."""
        return engine_time + self._offset(self.clock())

    def _offset(self, now: float) -> float:
        """wall_clock() - clock(), taken once, not per caller: taken per caller, a pause
        between the two reads (a busy machine) moved each caller by its own few milliseconds,
        and callers queued a millisecond apart swapped places after a restart. Taken again
        only if it moved by over a second: the wall clock was set."""
        offset = self.wall_clock() - now
        if self._wall_offset is None or abs(offset - self._wall_offset) > 1.0:
            self._wall_offset = offset
        return self._wall_offset

    def report(self, event: q.Event) -> None:
        """Hand an event to the engine's worker (in order; it steps the engine)."""
        self.inbox.put_nowait((event, None))

    async def settle(self, event: q.Event) -> None:
        """Report and wait until the worker has carried it out, so an answer shows it."""
        done = asyncio.get_running_loop().create_future()
        self.inbox.put_nowait((event, done))
        async with asyncio.timeout(10):
            await done

    def tell(self, call: str, event: LifeEvent) -> None:
        """Report one event of the call's life to the sink; a failing sink loses only that."""
        try:
            self.sink(Happened(call, self.wall_clock(), event))
        except Exception:
            log.exception("queue.life_sink_failed", what=type(event).__name__)

    def start(self, coro: Awaitable[None]) -> None:
        """Run `coro` as a task the queue owns (cancelled by `cancel_tasks`)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def cancel_tasks(self, *more: asyncio.Task[None] | None) -> None:
        tasks = [t for t in (*more, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task


def hangup_cause(event: Event) -> int | None:
    """The Q.850 cause of a hang-up event, where Asterisk gives one (not with StasisEnd)."""
    cause = event.raw.get("cause")
    return cause if isinstance(cause, int) else None


async def quietly(request: Awaitable[object]) -> None:
    """A request whose target may be gone already (the caller hung up): that is fine."""
    with contextlib.suppress(AriError):
        await request


# --- Signals to a call's task --------------------------------------------------------------


@dataclass(frozen=True)
class Announce(CallSignal):
    position: int
    expected_wait_s: int | None


@dataclass(frozen=True)
class OverflowNow(CallSignal):
    action: OverflowAction
    reason: str


@dataclass(frozen=True)
class Connected(CallSignal):
    conversation: Conversation


@dataclass(frozen=True)
class Finished:
    """A caller's time in the queue, for reports and the wallboard."""

    call: str
    topic: str
    client: str
    outcome: q.Outcome
    waited: float
    agent: str | None
    at: datetime
