"""Agents' log-in and pause across a restart of the app.

The queue engine keeps who is logged in and who is paused only in memory. Without this file,
restarting `serve` (an update, a crash) would log every agent out: the queue would ring nobody
until each agent logged in again, and the callers would wait in vain. So the app writes the
agents' *chosen* state — logged in, paused with which reason — to a small JSON file whenever it
changes, and reads it back on start.

Only what the agent chose is kept. Registration, busy, ringing and wrap-up are facts Asterisk
tells again after the restart (endpoint state), and the miss count starts over.

`saved_view` and `restore_events` are pure; `AgentStateFile` adds the file (written whole to
a temporary file, fsync'd and renamed, so a crash leaves the old or the new file, never half).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from stadtruf.config.agents import AgentsConfig
from stadtruf.core.queue import AgentLoggedIn, AgentPaused, Event, QueueState
from stadtruf.store.durable import write_atomically

log = structlog.get_logger(__name__)

VERSION = 1


@dataclass(frozen=True)
class SavedAgent:
    logged_in: bool
    paused: str | None = None  # the pause reason; only while logged in


SavedView = Mapping[str, SavedAgent]


def saved_view(state: QueueState) -> dict[str, SavedAgent]:
    """What to keep of the engine state: each agent's log-in and pause reason."""
    return {
        agent.id: SavedAgent(agent.logged_in, agent.paused if agent.logged_in else None)
        for agent in sorted(state.agents.values(), key=lambda a: a.id)
    }


def restore_events(saved: SavedView, config: AgentsConfig, now: float) -> list[Event]:
    """The engine events that bring a fresh queue back to `saved`.

    Agents no longer in the agents file are left out; agents new in it start logged out.
    """
    events: list[Event] = []
    for agent_id, agent in sorted(saved.items()):
        if agent_id not in config.by_id or not agent.logged_in:
            continue
        events.append(AgentLoggedIn(agent_id, now=now))
        if agent.paused is not None:
            events.append(AgentPaused(agent_id, agent.paused, now=now))
    return events


def to_json(view: SavedView) -> str:
    agents = {
        agent_id: {"logged_in": agent.logged_in, "paused": agent.paused}
        for agent_id, agent in sorted(view.items())
    }
    return json.dumps({"version": VERSION, "agents": agents}, indent=2, sort_keys=True) + "\n"


def from_json(text: str) -> dict[str, SavedAgent]:
    """Parse the file's text; ValueError saying what is wrong."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} (line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("version") != VERSION:
        raise ValueError(f"expected an object with version {VERSION}")
    agents = data.get("agents")
    if not isinstance(agents, dict):
        raise ValueError("'agents' must be an object")
    view: dict[str, SavedAgent] = {}
    for agent_id, entry in agents.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("logged_in"), bool):
            raise ValueError(f"agent {agent_id!r}: 'logged_in' must be true or false")
        paused = entry.get("paused")
        if paused is not None and not isinstance(paused, str):
            raise ValueError(f"agent {agent_id!r}: 'paused' must be a reason or null")
        view[str(agent_id)] = SavedAgent(entry["logged_in"], paused)
    return view


class AgentStateFile:
    """The saved view at `path`. Blocking file I/O: call from a thread in async code."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, SavedAgent]:
        """The saved view; empty (everyone logged out, as before) if missing or unreadable."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except OSError as exc:
            log.warning("agent_state.unreadable", path=str(self.path), error=str(exc))
            return {}
        try:
            return from_json(text)
        except ValueError as exc:
            # Starting with everyone logged out is what happened before this file existed:
            # agents log in again. Refusing to start would take the whole line down.
            log.warning("agent_state.invalid", path=str(self.path), error=str(exc))
            return {}

    def save(self, view: SavedView) -> None:
        write_atomically(self.path, to_json(view).encode("utf-8"))


__all__ = [
    "AgentStateFile",
    "SavedAgent",
    "from_json",
    "restore_events",
    "saved_view",
    "to_json",
]
