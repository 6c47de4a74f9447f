"""The queue engine's state: every waiting caller and every agent, frozen between steps."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from stadtruf.config.agents import AgentsConfig
from stadtruf.config.model import FrozenMap
from stadtruf.core.queue_events import Effect

# --- State ----------------------------------------------------------------------------------


class Activity(StrEnum):
    IDLE = "idle"
    RINGING = "ringing"
    BUSY = "busy"
    WRAPUP = "wrapup"


@dataclass(frozen=True)
class Caller:
    call: str
    topic: str
    client: str
    priority: int
    arrived: float  # when the caller joined the first queue; the order and `waited` use it
    seq: int  # join order, to break ties between equal arrival times
    language: str = "de"
    entered: float = 0.0  # when the caller entered the current topic's line
    ringing: str | None = None  # agent being rung for this caller
    max_wait_at: float | None = None
    next_announce: float | None = None
    visited: tuple[str, ...] = ()  # topics so far, to stop overflow loops
    missed_by: frozenset[str] = frozenset()  # agents who let this caller ring out

    @property
    def order(self) -> tuple[int, float, int]:
        return (-self.priority, self.arrived, self.seq)


@dataclass(frozen=True)
class AgentState:
    id: str
    logged_in: bool = False
    paused: str | None = None  # reason; may be set during a call, it applies afterwards
    registered: bool = False
    device_busy: bool = False
    activity: Activity = Activity.IDLE
    call: str | None = None  # ringing or busy for this call
    call_topic: str | None = None
    ring_deadline: float | None = None
    busy_since: float | None = None
    wrapup_until: float | None = None
    rest_until: float = float("-inf")  # after a missed ring (app_queue's `retry`)
    idle_since: float = 0.0  # login or end of the last wrap-up: `longest_idle` counts from here
    calls_taken: int = 0
    misses: int = 0  # consecutive missed rings

    @property
    def status(self) -> str:
        """The one-word state a wallboard shows."""
        if self.activity is not Activity.IDLE:
            return self.activity.value
        if not self.logged_in:
            return "logged_out"
        return "paused" if self.paused is not None else "ready"

    def can_ring(self, now: float) -> bool:
        return (
            self.logged_in
            and self.paused is None
            and self.registered
            and not self.device_busy
            and self.activity is Activity.IDLE
            and now >= self.rest_until
        )


@dataclass(frozen=True)
class QueueState:
    config: AgentsConfig
    now: float = 0.0
    callers: Mapping[str, Caller] = field(default_factory=FrozenMap)
    agents: Mapping[str, AgentState] = field(default_factory=FrozenMap)
    rr_cursor: Mapping[str, str] = field(default_factory=FrozenMap)  # topic → agent rung last
    handle_times: Mapping[str, tuple[float, ...]] = field(default_factory=FrozenMap)
    seq: int = 0
    timer_at: float | None = None

    def line(self, topic: str) -> tuple[Caller, ...]:
        """The callers of `topic` in the order they are served (ringing ones included)."""
        return tuple(sorted((c for c in self.callers.values() if c.topic == topic), key=by_order))

    def position(self, call: str) -> int | None:
        caller = self.callers.get(call)
        if caller is None:
            return None
        return self.line(caller.topic).index(caller) + 1


Step = tuple[QueueState, tuple[Effect, ...]]


def by_order(caller: Caller) -> tuple[int, float, int]:
    """Sort key: the order callers are served in (priority desc, arrival asc, join order)."""
    return caller.order
