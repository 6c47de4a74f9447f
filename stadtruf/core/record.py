"""The call record: one row per call, folded from the call's life events (`core.lifecycle`).

`step(record, happened)` applies one event; `fold(events)` applies many, for any number of
calls at once. Feeding events one by one gives the same records as folding them all at once,
and a call whose events start with `Arrived` and end with `Ended` gives exactly one complete
record (`outcome` set), whatever happened in between.

Robust against what the adapters may do around restarts and races:

- An event after `Ended` changes nothing (a late `RingEnded`); a second `Arrived` neither.
- An event for a call without a record (its `Arrived` was before a restart) starts one, with
  an empty dialled number and the event's time as arrival.
- A record the store closed as `lost` (the process died while the call was up) is reopened by
  a later event: a call the queue adopted after the restart is completed as usual.

The outcome is decided once, at `Ended`, in this order (the first that applies):

==================  ==========================================================================
answered            an agent answered (an agent's transfer afterwards is kept in `transfer_*`)
closed              the line was closed (a `RouteChosen` with cause ``closed``; its action, e.g.
                    voicemail, stays in the other fields)
voicemail/callback  the caller left a voicemail / asked to be called back
overflow            the queue overflowed to a transfer, announcement, … (`overflow_target`);
                    an overflow into another queue is not an outcome: the call goes on there
transferred         the menu (or overflow) transferred the call away
announced           the menu played an announcement and hung up
hangup              the menu hung up (hangup key, retries or prompt limit: `route_cause`)
abandoned_ringing   the caller hung up while an agent's phone rang
abandoned_queue     the caller hung up while waiting in the queue
abandoned_menu      the caller hung up before being routed anywhere
==================  ==========================================================================

The store adds ``lost`` (see `close_lost`). Times are seconds since the epoch, as in the events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal, get_args

from stadtruf.core.lifecycle import (
    AgentAnswered,
    AgentRang,
    Arrived,
    CallbackRequested,
    Ended,
    Happened,
    KeyPressed,
    LanguageChosen,
    MenuEntered,
    OriginDecided,
    Overflowed,
    Queued,
    RingEnded,
    RouteChosen,
    Transferred,
)
from stadtruf.core.numbers import is_national, normalize

Outcome = Literal[
    "answered",
    "closed",
    "voicemail",
    "callback",
    "overflow",
    "transferred",
    "announced",
    "hangup",
    "abandoned_ringing",
    "abandoned_queue",
    "abandoned_menu",
    "lost",
]
OUTCOMES: tuple[str, ...] = get_args(Outcome)

# `RouteChosen.cause` of a call that met a closed line (opening hours).
CLOSED_CAUSE = "closed"


@dataclass(frozen=True)
class CallRecord:
    call_id: str
    dialled: str
    arrived_at: float
    last_seen_at: float  # the latest event, or the store's heartbeat: where a lost call ends
    caller: str | None = None
    withheld: bool = False
    client: str | None = None
    origin_rule: str | None = None  # switchboard, diversion, area_code, town_menu, default
    origin_reason: str | None = None
    language: str | None = None
    menu_path: tuple[str, ...] = ()  # menus entered, in order
    keys: str = ""  # keys pressed in the menus, in order
    topic: str | None = None
    route_kind: str | None = None  # how the menu ended: queue, transfer, announce, hangup, client
    route_target: str | None = None
    route_cause: str | None = None  # key, default, retries, max_prompts, closed
    closed: bool = False
    queued_at: float | None = None
    rang_at: float | None = None  # first time an agent's phone rang
    answered_at: float | None = None
    ended_at: float | None = None
    agent: str | None = None  # who answered; before that, whose phone rang last
    ringing: bool = False  # an agent's phone rings right now
    rings: int = 0  # how often agents' phones rang for this call
    left_queue_at: float | None = None  # overflow away, callback, transfer: waiting ended
    overflow_reason: str | None = None
    overflow_action: str | None = None
    overflow_target: str | None = None
    callback: Literal["callback", "voicemail"] | None = None
    transfer_target: str | None = None
    transferred_by: str | None = None  # menu, agent, overflow
    transferred_at: float | None = None
    wait_s: float | None = None  # queued until answered or left; None if never queued
    talk_s: float | None = None  # answered until ended (or the agent's transfer)
    wrap_up_s: float | None = None  # reported by the queue after the call; may come later
    outcome: Outcome | None = None  # None while the call is up
    ended_by: str | None = None  # caller, agent, menu, transfer, system
    hangup_cause: int | None = None  # Q.850, where Asterisk reports one

    @property
    def complete(self) -> bool:
        return self.outcome is not None


def start(happened: Happened) -> CallRecord:
    """A new record for the call of `happened` (normally its `Arrived`)."""
    event = happened.event
    if isinstance(event, Arrived):
        return CallRecord(
            call_id=happened.call_id,
            dialled=event.dialled,
            caller=event.caller,
            withheld=event.withheld,
            arrived_at=happened.at,
            last_seen_at=happened.at,
        )
    # Arrived before a restart (or never seen): record what is known from here on.
    orphan = CallRecord(
        call_id=happened.call_id, dialled="", arrived_at=happened.at, last_seen_at=happened.at
    )
    return _apply(orphan, happened)


def step(record: CallRecord | None, happened: Happened) -> CallRecord:
    """The record after one more event of its call."""
    if record is None:
        return start(happened)
    if record.outcome == "lost":
        # Closed at a restart, but the call lived on (adopted by the queue): reopen it.
        record = replace(record, outcome=None, ended_at=None)
    elif record.complete or isinstance(happened.event, Arrived):
        return record
    return _apply(record, happened)


def fold(
    events: Iterable[Happened], records: Mapping[str, CallRecord] | None = None
) -> dict[str, CallRecord]:
    """The records of all calls in `events`, continuing from `records`."""
    result = dict(records or {})
    for happened in events:
        result[happened.call_id] = step(result.get(happened.call_id), happened)
    return result


def _apply(r: CallRecord, h: Happened) -> CallRecord:
    at, e = h.at, h.event
    r = replace(r, last_seen_at=max(r.last_seen_at, at))
    if isinstance(e, OriginDecided):
        if e.client is None and r.client is not None:
            return r  # the town menu comes after a known client only by mistake; keep it
        return replace(r, client=e.client, origin_rule=e.rule, origin_reason=e.reason)
    if isinstance(e, MenuEntered):
        return replace(r, menu_path=(*r.menu_path, e.menu), client=r.client or e.client)
    if isinstance(e, KeyPressed):
        return replace(r, keys=r.keys + e.digit)
    if isinstance(e, LanguageChosen):
        return replace(r, language=e.language)
    if isinstance(e, RouteChosen):
        r = replace(
            r,
            route_kind=e.kind,
            route_target=e.target,
            route_cause=e.cause,
            topic=r.topic or e.topic,
            closed=r.closed or e.cause == CLOSED_CAUSE,
        )
        return replace(r, client=r.client or e.target) if e.kind == "client" else r
    if isinstance(e, Queued):
        queued_at = r.queued_at if r.queued_at is not None else at
        return replace(r, queued_at=queued_at, topic=r.topic or e.topic)
    if isinstance(e, AgentRang):
        rang_at = r.rang_at if r.rang_at is not None else at
        return replace(r, agent=e.agent, ringing=True, rings=r.rings + 1, rang_at=rang_at)
    if isinstance(e, RingEnded):
        return replace(r, ringing=False)
    if isinstance(e, AgentAnswered):
        if r.answered_at is not None:
            return r
        return replace(r, agent=e.agent, ringing=False, answered_at=at)
    if isinstance(e, Overflowed):
        r = replace(
            r, overflow_reason=e.reason, overflow_action=e.action, overflow_target=e.target or None
        )
        return r if e.action == "queue" else _leave_queue(r, at)
    if isinstance(e, CallbackRequested):
        return _leave_queue(replace(r, callback=e.kind), at)
    if isinstance(e, Transferred):
        r = replace(r, transfer_target=e.target, transferred_by=e.by, transferred_at=at)
        return _leave_queue(r, at)
    if isinstance(e, Ended):
        return _end(replace(r, ended_by=e.by, hangup_cause=e.cause), at)
    return r  # Arrived: handled by `start`


def _leave_queue(r: CallRecord, at: float) -> CallRecord:
    if r.queued_at is None or r.answered_at is not None or r.left_queue_at is not None:
        return r
    return replace(r, left_queue_at=at)


def _end(r: CallRecord, at: float) -> CallRecord:
    wait = None
    if r.queued_at is not None:
        until = r.answered_at if r.answered_at is not None else r.left_queue_at
        wait = max(0.0, (until if until is not None else at) - r.queued_at)
    talk = None
    if r.answered_at is not None:
        by_agent = r.transferred_by == "agent" and r.transferred_at is not None
        until = r.transferred_at if by_agent and r.transferred_at is not None else at
        talk = max(0.0, until - r.answered_at)
    ended = replace(r, ended_at=at, wait_s=wait, talk_s=talk)
    return replace(ended, outcome=outcome(ended), ringing=False)


def outcome(r: CallRecord) -> Outcome:
    """How the call ended (module docstring: the order in which the cases are tried)."""
    if r.answered_at is not None:
        return "answered"
    if r.closed:
        return "closed"
    if r.callback is not None:
        return r.callback
    if r.overflow_action is not None and r.overflow_action != "queue":
        return "overflow"
    if r.transferred_by is not None:
        return "transferred"
    if r.queued_at is None and r.route_kind == "announce":
        return "announced"
    if r.queued_at is None and r.route_kind == "hangup":
        return "hangup"
    if r.ringing:
        return "abandoned_ringing"
    if r.queued_at is not None:
        return "abandoned_queue"
    return "abandoned_menu"


def close_lost(r: CallRecord) -> CallRecord:
    """A record left open by a process that died: ended when it was last seen, outcome lost."""
    if r.complete:
        return r
    return replace(_end(r, r.last_seen_at), outcome="lost", ringing=False)


def seen(r: CallRecord, at: float) -> CallRecord:
    """The call was still up at `at` (the store's heartbeat while nothing happens)."""
    return r if r.complete or at <= r.last_seen_at else replace(r, last_seen_at=at)


def with_wrap_up(r: CallRecord, seconds: float) -> CallRecord:
    """The agent's wrap-up time after the call, reported by the queue (often after `Ended`)."""
    return replace(r, wrap_up_s=max(0.0, seconds))


# --- The caller's number, as much as the admin lets us keep --------------------------------

CallerNumberStorage = Literal["full", "area_code", "none"]
CALLER_NUMBER_STORAGE: tuple[str, ...] = get_args(CallerNumberStorage)
SHORTENED = "…"
# Without a configured area code that matches, keep no more than the shortest German area
# code (0 + 2 digits, e.g. 030): never a subscriber digit. German mobile prefixes are 4 long.
_FALLBACK_NATIONAL = 3
_MOBILE = ("015", "016", "017")
_FALLBACK_FOREIGN = 4  # 00 + a country code's first two digits


def stored_caller(
    number: str | None, storage: CallerNumberStorage, area_codes: Iterable[str] = ()
) -> str | None:
    """The caller's number as the record keeps it: in full, only its area code, or not at all.

    `area_codes` are the national area codes the configuration knows (clients' `area_codes`);
    the longest that prefixes the number is kept. Other numbers keep no more than any area
    code could be long. Short or unusable numbers keep nothing when shortened.

    >>> stored_caller("+49 203 12345", "area_code", ["0203"])
    '0203…'
    """
    if storage == "none" or number is None:
        return None
    if number.endswith(SHORTENED):
        return number  # already reduced (a record read back from the store)
    national = normalize(number)
    if storage == "full":
        return national if national is not None else number
    if national is None or len(national) < 6:
        return None
    if is_national(national):
        known = [c for c in area_codes if national.startswith(c) and len(c) < len(national)]
        if known:
            return max(known, key=len) + SHORTENED
        keep = 4 if national.startswith(_MOBILE) else _FALLBACK_NATIONAL
        return national[:keep] + SHORTENED
    if national.startswith("00"):
        return national[:_FALLBACK_FOREIGN] + SHORTENED
    return None


def for_storage(
    r: CallRecord, storage: CallerNumberStorage, area_codes: Iterable[str] = ()
) -> CallRecord:
    """The record with the caller's number reduced as configured (before it is written)."""
    return replace(r, caller=stored_caller(r.caller, storage, area_codes))
