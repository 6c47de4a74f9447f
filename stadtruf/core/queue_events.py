"""The queue engine's vocabulary: the events the adapter reports and the effects it carries out.

See `stadtruf.core.queue` for the protocol (what each effect asks of the adapter, which
events it reports back) and the rules.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from typing import Literal

from stadtruf.config.agents import AgentsConfig, OverflowAction

# --- Events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class CallerJoined:
    call: str
    topic: str
    client: str
    _: KW_ONLY
    now: float
    priority: int = 0  # higher first; the adapter takes it from the queue's `priorities`
    language: str = "de"
    # A caller put back in line (the agent hung up during the whisper) keeps their place.
    arrived: float | None = None


@dataclass(frozen=True)
class CallerLeft:
    """The caller leaves the line: hung up, or asked to be called back (keeping their place
    in the callback list, which the adapter keeps)."""

    call: str
    _: KW_ONLY
    now: float
    reason: Literal["hangup", "callback"] = "hangup"


@dataclass(frozen=True)
class AgentLoggedIn:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class AgentLoggedOut:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class AgentPaused:
    agent: str
    reason: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class AgentReady:
    """The agent ends a pause (also an `autopause`)."""

    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class AgentRegistered:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class AgentUnregistered:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class DeviceBusy:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class DeviceFree:
    agent: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class RingAnswered:
    agent: str
    call: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class RingTimedOut:
    agent: str
    call: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class RingFailed:
    agent: str
    call: str
    _: KW_ONLY
    now: float
    cause: Literal["busy", "unreachable"] = "unreachable"


@dataclass(frozen=True)
class CallEnded:
    agent: str
    call: str
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class Tick:
    _: KW_ONLY
    now: float


@dataclass(frozen=True)
class ConfigChanged:
    """The agents file was reloaded: new settings, skills, agents.

    Agents new in the file start logged out; agents gone from it are dropped (a ring for
    them is cancelled, the caller goes back in line; a conversation in progress goes on in
    Asterisk, only its end is no longer counted). Callers keep their place and the deadlines
    they already have; the new queue settings apply from their next step on.
    """

    config: AgentsConfig
    _: KW_ONLY
    now: float


Event = (
    CallerJoined
    | CallerLeft
    | AgentLoggedIn
    | AgentLoggedOut
    | AgentPaused
    | AgentReady
    | AgentRegistered
    | AgentUnregistered
    | DeviceBusy
    | DeviceFree
    | RingAnswered
    | RingTimedOut
    | RingFailed
    | CallEnded
    | Tick
    | ConfigChanged
)

# --- Effects --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RingAgent:
    agent: str
    call: str
    timeout: float


@dataclass(frozen=True)
class CancelRing:
    agent: str
    call: str


@dataclass(frozen=True)
class Connect:
    agent: str
    call: str


@dataclass(frozen=True)
class AnnounceToCaller:
    call: str
    position: int
    expected_wait_s: int | None


@dataclass(frozen=True)
class Overflow:
    call: str
    action: OverflowAction
    # Why: the caller waited `max_wait`, or nobody is there to answer (`join_empty: false`
    # at joining, `leave_when_empty: true` while waiting).
    reason: Literal["max_wait", "empty"] = "max_wait"


@dataclass(frozen=True)
class AutoPause:
    agent: str


@dataclass(frozen=True)
class StartTimer:
    at: float
    reason: str


Outcome = Literal["connected", "overflow", "abandoned", "callback"]


@dataclass(frozen=True)
class CallFinished:
    call: str
    topic: str
    outcome: Outcome
    waited: float
    agent: str | None = None


Effect = (
    RingAgent
    | CancelRing
    | Connect
    | AnnounceToCaller
    | Overflow
    | AutoPause
    | StartTimer
    | CallFinished
)
