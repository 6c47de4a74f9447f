"""What the web UI shows: the supervisors' wallboard and an agent's screen, as plain JSON
values. Pure: the queue's state, today's figures and the calls' records in, dicts out; the
page's script only puts them on the screen (German texts are chosen here).

`CallBook` folds the calls' life events into records (as the call records do) so an agent's
screen can show how the current call came in (origin, menu path) and the agent's last calls.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from stadtruf.core import live_figures as lf
from stadtruf.core.lifecycle import Happened
from stadtruf.core.queue import QueueState
from stadtruf.core.record import CallerNumberStorage, CallRecord, stored_caller
from stadtruf.core.wallboard import agent_view, elapsed_s

STATUS_TEXT = {
    "ready": "Bereit",
    "ringing": "Klingelt",
    "busy": "Im Gespräch",
    "wrapup": "Nacharbeit",
    "paused": "Pause",
    "logged_out": "Abgemeldet",
}
OUTCOME_TEXT = {
    "answered": "angenommen",
    "transferred": "weiterverbunden",
    "abandoned_ringing": "aufgelegt beim Klingeln",
    "abandoned_queue": "aufgelegt in der Warteschlange",
}
RECENT_KEPT = 10


@dataclass(frozen=True)
class Names:
    """Display names from the config: clients (name, tag) and topics."""

    clients: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    topics: Mapping[str, str] = field(default_factory=dict)

    def client(self, cid: str | None) -> str:
        if not cid:
            return "unbekannt"
        return self.clients[cid][0] if cid in self.clients else cid

    def tag(self, cid: str | None) -> str:
        return self.clients[cid][1] if cid and cid in self.clients else ""

    def topic(self, tid: str | None) -> str:
        if not tid:
            return "–"
        return self.topics.get(tid, tid)


# --- The supervisors' wallboard ------------------------------------------------------------


def wallboard(
    state: QueueState,
    now: float,
    names: Names,
    levels: Sequence[lf.ClientLevel],
    hours: Mapping[str, Mapping[int, Sequence[lf.CallCounted]]],
) -> dict[str, Any]:
    """Callers waiting per client and topic, the agents, today's service level per client."""
    labels = lf.labels_of(names.clients, names.topics)
    lines: list[dict[str, Any]] = [
        {
            "client": line.client,
            "client_name": names.client(line.client) if line.client in names.clients else "–",
            "tag": names.tag(line.client),
            "topic": line.topic,
            "topic_name": names.topic(line.topic),
            "waiting": line.waiting,
            "longest_s": int(line.longest_s),
        }
        for line in lf.waiting(state, now, labels)
        if line.waiting
    ]
    lines.sort(key=lambda x: (-x["longest_s"], x["client"], x["topic"]))
    agents = [agent_line(view) for view in _agent_views(state, now)]
    counts = lf.agents_by_state(state)
    return {
        "waiting": lines,
        "waiting_total": sum(x["waiting"] for x in lines),
        "agents": agents,
        "agent_counts": [
            {"status": s, "text": STATUS_TEXT[s], "count": counts.get(s, 0)} for s in STATUS_TEXT
        ],
        "service_levels": [
            level_line(level, names, hours.get(level.client, {})) for level in levels
        ],
    }


def _agent_views(state: QueueState, now: float) -> list[dict[str, Any]]:
    order = {agent.id: i for i, agent in enumerate(state.config.agents)}
    agents = sorted(state.agents.values(), key=lambda a: (order.get(a.id, len(order)), a.id))
    return [agent_view(state, agent, now) for agent in agents]


def agent_line(view: Mapping[str, Any]) -> dict[str, Any]:
    status = view["status"]
    text = STATUS_TEXT.get(status, status)
    if status == "paused" and view["pause_reason"]:
        text = f"Pause: {view['pause_reason']}"
    return {
        "id": view["id"],
        "name": view["name"],
        "status": status,
        "text": text,
        "topic": view["topic"],
        "since_s": view["busy_for_s"] or view["idle_for_s"] or view["wrapup_left_s"],
    }


def level_line(
    level: lf.ClientLevel, names: Names, hours: Mapping[int, Sequence[lf.CallCounted]]
) -> dict[str, Any]:
    chart = []
    for hour in sorted(hours):
        figures = lf.client_level(level.client, hours[hour], level.target)
        chart.append(
            {
                "hour": hour,
                "calls": figures.offered,
                "percent": None if figures.level is None else round(figures.level * 100, 1),
            }
        )
    return {
        **level.to_json(),
        "client_name": names.client(level.client),
        "tag": names.tag(level.client),
        "hours": chart,
    }


# --- An agent's screen ---------------------------------------------------------------------


@dataclass(frozen=True)
class Link:
    title: str
    url: str
    phone: str | None = None


@dataclass(frozen=True)
class Office:
    """A number the agent may send the caller on to: the client's menu transfer targets."""

    label: str
    number: str


def may_transfer(offices: Iterable[Office], number: str) -> bool:
    """Only to one of the current call's client's offices (the toll-fraud allow-list)."""
    return any(o.number == number for o in offices)


@dataclass(frozen=True)
class Privacy:
    storage: CallerNumberStorage = "area_code"
    area_codes: tuple[str, ...] = ()


class CallBook:
    """The calls' records as their events come (a sink), and each agent's last calls."""

    def __init__(self, limit: int = 10_000) -> None:
        self.follower = lf.CallFollower(limit)
        self.recent: dict[str, deque[CallRecord]] = {}

    def record(self, happened: Happened) -> None:
        finished = self.follower.step(happened)
        if finished is not None and finished.agent is not None and finished.answered_at:
            kept = self.recent.setdefault(finished.agent, deque(maxlen=RECENT_KEPT))
            kept.appendleft(finished)

    def open_call(self, call: str | None) -> CallRecord | None:
        return self.follower.open.get(call) if call is not None else None


def caller_text(record: CallRecord, privacy: Privacy) -> str:
    if record.withheld or record.caller is None:
        return "Rufnummer unterdrückt"
    shown = stored_caller(record.caller, privacy.storage, privacy.area_codes)
    return shown if shown is not None else "Rufnummer nicht angezeigt (Datenschutz)"


def agent_screen(
    state: QueueState,
    agent_id: str,
    now: float,
    wall_now: float,
    record: CallRecord | None,
    names: Names,
    links: Iterable[Link],
    privacy: Privacy,
    recent: Iterable[CallRecord],
    offices: Iterable[Office] = (),
) -> dict[str, Any] | None:
    """The agent's screen: its state, the call that rings or is talked to, the knowledge
    links for it, the offices it may be sent on to (while talking), and its last calls
    today. None for an unknown agent."""
    agent = state.agents.get(agent_id)
    if agent is None:
        return None
    view = agent_view(state, agent, now)
    call = None
    if agent.call is not None and view["status"] in ("ringing", "busy"):
        caller = state.callers.get(agent.call)
        client = record.client if record is not None else (caller.client if caller else None)
        topic = agent.call_topic or (record.topic if record is not None else None)
        waited = None
        if caller is not None:
            waited = elapsed_s(caller.arrived, now)
        elif record is not None and record.wait_s is not None:
            waited = int(record.wait_s)
        elif record is not None and record.queued_at is not None and record.answered_at:
            waited = elapsed_s(record.queued_at, record.answered_at)
        call = {
            "id": agent.call,
            "client": client,
            "client_name": names.client(client),
            "tag": names.tag(client),
            "topic": topic,
            "topic_name": names.topic(topic),
            "origin": record.origin_reason if record is not None else None,
            "menu_path": _menu_path(record),
            "caller": caller_text(record, privacy) if record is not None else "–",
            "waited_s": waited,
        }
    day = lf.local_day(wall_now)
    return {
        "agent": agent_line(view) | {"logged_in": agent.logged_in},
        "call": call,
        "knowledge": [{"title": x.title, "url": x.url, "phone": x.phone} for x in links]
        if call is not None
        else [],
        "offices": [{"label": o.label, "number": o.number} for o in offices]
        if call is not None and view["status"] == "busy"
        else [],
        "recent": [
            {
                "time": datetime.fromtimestamp(r.arrived_at, lf.BERLIN).strftime("%H:%M"),
                "client_name": names.client(r.client),
                "topic_name": names.topic(r.topic),
                "talk_s": None if r.talk_s is None else int(r.talk_s),
                "outcome": OUTCOME_TEXT.get(r.outcome or "", r.outcome or ""),
            }
            for r in recent
            if lf.local_day(r.arrived_at) == day
        ],
    }


def _menu_path(record: CallRecord | None) -> str:
    if record is None or not record.menu_path:
        return "–"
    path = " › ".join(record.menu_path)
    return f"{path} (Tasten {record.keys})" if record.keys else path
