"""Where the web UI's views get their data: the queue, today's figures, the calls' records
and the live config. Translates the config into the pure views' inputs (`core.screens`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from stadtruf.api.metrics import LiveFigures
from stadtruf.config import ServiceCenterConfig
from stadtruf.config.knowledge import links_for
from stadtruf.config.model import TransferAction, walk
from stadtruf.core import screens
from stadtruf.core.queue import QueueState

Clock = Callable[[], float]


class ScreenData:
    def __init__(
        self,
        snapshot: Callable[[], QueueState],
        clock: Clock,
        figures: LiveFigures | None,
        book: screens.CallBook,
        config: Callable[[], ServiceCenterConfig],
        wall_clock: Clock = time.time,
    ) -> None:
        self.snapshot = snapshot
        self.clock = clock
        self.figures = figures
        self.book = book
        self.config = config
        self.wall_clock = figures.wall_clock if figures is not None else wall_clock

    def names(self) -> screens.Names:
        config = self.config()
        topics = {tid: t.name for tid, t in config.service_center.topics.items()}
        clients = {cid: (c.name, c.tag) for cid, c in config.clients.items()}
        return screens.Names(clients, topics)

    def wallboard(self) -> dict[str, Any]:
        figures = self.figures
        levels = figures.service_levels() if figures is not None else []
        hours = figures.today.hours_of(figures.wall_clock()) if figures is not None else {}
        return screens.wallboard(self.snapshot(), self.clock(), self.names(), levels, hours)

    def agent(self, agent_id: str) -> dict[str, Any] | None:
        state = self.snapshot()
        agent = state.agents.get(agent_id)
        if agent is None:
            return None
        record = self.book.open_call(agent.call)
        config = self.config()
        client_id = record.client if record is not None else None
        caller = state.callers.get(agent.call) if agent.call is not None else None
        if client_id is None and caller is not None:
            client_id = caller.client
        topic = agent.call_topic or (record.topic if record is not None else None)
        client = config.clients.get(client_id or "")
        links: list[screens.Link] = []
        if client is not None:
            center_topic = config.service_center.topics.get(topic or "")
            leika = center_topic.leika if center_topic is not None else None
            links = [
                screens.Link(x.title, x.url, x.phone)
                for x in links_for(client.knowledge, topic, leika)
            ]
        area_codes = tuple(code for c in config.clients.values() for code in c.area_codes)
        privacy = screens.Privacy(config.service_center.call_records.caller_number, area_codes)
        return screens.agent_screen(
            state,
            agent_id,
            self.clock(),
            self.wall_clock(),
            record,
            self.names(),
            links,
            privacy,
            self.book.recent.get(agent_id, ()),
            self.offices(client_id),
        )

    def offices(self, client_id: str | None) -> list[screens.Office]:
        """The client's menu transfer targets (numbers), named by their topic."""
        config = self.config()
        client = config.clients.get(client_id or "")
        if client is None:
            return []
        names = self.names()
        offices: dict[str, screens.Office] = {}
        for _, action in walk(client, TransferAction):
            if "/" in action.transfer:  # an endpoint (PJSIP/…), not an office's number
                continue
            label = names.topic(action.topic) if action.topic else "Amt"
            offices.setdefault(action.transfer, screens.Office(label, action.transfer))
        return list(offices.values())

    def call_client(self, agent_id: str) -> str | None:
        """The client of the call the agent has now (for the transfer check)."""
        state = self.snapshot()
        agent = state.agents.get(agent_id)
        if agent is None or agent.call is None:
            return None
        record = self.book.open_call(agent.call)
        if record is not None and record.client:
            return record.client
        caller = state.callers.get(agent.call)
        return caller.client if caller is not None else None
