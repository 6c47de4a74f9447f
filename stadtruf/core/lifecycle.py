"""A call's life as events: what happened to one call, in order, from arrival to end.

The call flow (`stadtruf.core.callflow`) and the queue adapter emit these; the call record
(issue: every call counted) is a fold over them, and the logs show them. They are facts, not
commands: nothing reacts to them inside the call path. Times are seconds since the epoch from
the adapter's injected clock, so a test can set the clock.

A call that meets a closed line (opening hours) gets `RouteChosen(cause="closed")`; its
voicemail or callback request is the queue adapter's, which then emits the `Ended`.

Order for a call answered by an agent::

    Arrived → OriginDecided → MenuEntered → KeyPressed … → RouteChosen → Queued
            → AgentRang → AgentAnswered → Ended

Every call that arrives ends with exactly one `Ended`, whatever happens in between. The call
flow emits everything up to `RouteChosen`, and `Transferred`/`Ended` for the calls it ends
itself (caller hung up in the menus, announcement, hang-up, transfer); a call handed to the
queue is the queue adapter's from `Queued` to its `Ended`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# Who or what ended a call.
EndedBy = Literal["caller", "agent", "menu", "transfer", "system"]
RouteKind = Literal["queue", "transfer", "announce", "hangup", "client", "voicemail", "callback"]


@dataclass(frozen=True)
class Arrived:
    dialled: str
    caller: str | None  # as the privacy settings allow; None when withheld or unknown
    withheld: bool = False


@dataclass(frozen=True)
class OriginDecided:
    client: str | None  # None: the caller is asked (town menu)
    rule: str  # how: an origin `Rule` (switchboard, diversion, area_code, …) or "given"
    reason: str  # why, in words


@dataclass(frozen=True)
class MenuEntered:
    menu: str
    client: str | None  # None for the service center's town menu


@dataclass(frozen=True)
class KeyPressed:
    digit: str
    menu: str


@dataclass(frozen=True)
class LanguageChosen:
    language: str


@dataclass(frozen=True)
class RouteChosen:
    kind: RouteKind
    target: str  # topic, number, client id or reason, by kind
    topic: str | None
    menu: str
    cause: str  # why the menu ended there: digit, retries_exhausted, prompt_limit, broken_menu


@dataclass(frozen=True)
class Queued:
    topic: str
    priority: int = 0


@dataclass(frozen=True)
class AgentRang:
    agent: str


@dataclass(frozen=True)
class RingEnded:
    """An agent's phone rang without the call being answered there."""

    agent: str
    cause: str  # timeout, busy, unreachable, cancelled


@dataclass(frozen=True)
class AgentAnswered:
    agent: str


@dataclass(frozen=True)
class Overflowed:
    reason: str  # max_wait, empty
    action: str  # queue, transfer, announce, callback, voicemail
    target: str = ""


@dataclass(frozen=True)
class CallbackRequested:
    kind: Literal["callback", "voicemail"]


@dataclass(frozen=True)
class Transferred:
    target: str
    by: Literal["menu", "agent", "overflow"]


@dataclass(frozen=True)
class Ended:
    by: EndedBy
    cause: int | None = None  # Q.850 hang-up cause where Asterisk reports one


LifeEvent = (
    Arrived
    | OriginDecided
    | MenuEntered
    | KeyPressed
    | LanguageChosen
    | RouteChosen
    | Queued
    | AgentRang
    | RingEnded
    | AgentAnswered
    | Overflowed
    | CallbackRequested
    | Transferred
    | Ended
)


@dataclass(frozen=True)
class Happened:
    """One event of one call, with when it happened (seconds since the epoch)."""

    call_id: str
    at: float
    event: LifeEvent
