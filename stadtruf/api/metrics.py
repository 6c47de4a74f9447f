"""Live figures over HTTP: Prometheus `/metrics` and today's `/service-level` per client.

The figures are computed in `stadtruf.core.live_figures`; this module holds the
prometheus_client objects and the two routes. Counters and the wait histogram grow as calls end
(`LiveFigures.record` is a sink for the calls' life events, see `ari_app.sinks.fan_out`); the
gauges (waiting callers, longest wait, agents by state, today's service level) are read from
the queue's snapshot at each scrape, so no gauge outlives its caller.

Metrics (label values from the config only; see `live_figures` for ``other`` and ``none``):

    stadtruf_queue_callers_waiting{client,topic}        callers waiting now
    stadtruf_queue_longest_wait_seconds{client,topic}   longest current wait
    stadtruf_agents{state}                              agents by state
    stadtruf_calls_total{client,topic,outcome}          calls ended, by outcome
    stadtruf_queue_wait_seconds{client,result}          wait of queued calls (histogram)
    stadtruf_service_level_ratio{client}                today's service level (0..1)
    stadtruf_service_level_target_ratio{client}         the client's target share
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field

import structlog
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector

from stadtruf.config import ServiceCenterConfig
from stadtruf.config.agents import AgentsConfig
from stadtruf.core import live_figures as lf
from stadtruf.core.lifecycle import Happened
from stadtruf.core.queue import QueueState
from stadtruf.core.service_level import TARGETS, Target

log = structlog.get_logger(__name__)

Clock = Callable[[], float]


@dataclass(frozen=True)
class FigureSettings:
    """What the figures need from the config: label values and each client's target."""

    labels: lf.Labels
    targets: Mapping[str, Target] = field(default_factory=dict)
    default_target: Target = TARGETS["115"]
    short_abandon_s: float = lf.DEFAULT_SHORT_ABANDON_S


def figure_settings(config: ServiceCenterConfig, agents: AgentsConfig | None) -> FigureSettings:
    """Clients from the client files, topics from service-center.yaml and the agents' queues;
    each client's service-level target (`service_level:`), else the service center's."""
    topics = set(config.service_center.topics)
    if agents is not None:
        topics.update(agents.queues)
    center = config.service_center.service_level
    targets = {
        cid: client.service_level.target()
        for cid, client in config.clients.items()
        if client.service_level is not None
    }
    return FigureSettings(
        lf.labels_of(config.clients, topics),
        targets,
        center.target.target(),
        center.short_abandon_s,
    )


class LiveFigures:
    """The counters of ended calls and the live view of the queue, for one running service."""

    def __init__(self, settings: Callable[[], FigureSettings], wall_clock: Clock = time.time):
        """`settings()` is read for every event and scrape (a config reload changes it);
        `wall_clock` is the clock of the events' times (which day is today)."""
        self.settings = settings
        self.wall_clock = wall_clock
        self.follower = lf.CallFollower()
        self.today = lf.Today()
        self.registry = CollectorRegistry(auto_describe=True)
        self.calls = Counter(
            "stadtruf_calls",
            "Calls ended, by client, topic and outcome",
            ("client", "topic", "outcome"),
            registry=self.registry,
        )
        self.waits = Histogram(
            "stadtruf_queue_wait_seconds",
            "Time queued callers waited until answered, hung up or sent on",
            ("client", "result"),
            buckets=lf.WAIT_BUCKETS,
            registry=self.registry,
        )
        self._live = _LiveCollector(self)
        self.registry.register(self._live)

    def record(self, happened: Happened) -> None:
        """Sink for the calls' life events: counts each call once, as it ends."""
        finished = self.follower.step(happened)
        if finished is None:
            return
        call = lf.counted(finished, self.settings().labels)
        self.calls.labels(call.client, call.topic, call.outcome).inc()
        if call.wait_s is not None:
            self.waits.labels(call.client, call.wait_result).observe(call.wait_s)
        self.today.add(call, finished.ended_at if finished.ended_at is not None else happened.at)

    def service_levels(self) -> list[lf.ClientLevel]:
        settings = self.settings()
        return lf.service_levels(
            self.today,
            self.wall_clock(),
            settings.labels.clients,
            settings.targets,
            settings.default_target,
            settings.short_abandon_s,
        )

    def exposition(self, state: QueueState, now: float) -> bytes:
        """The Prometheus text for the queue `state` at engine time `now` and the counters."""
        self._live.view = (state, now)
        try:
            return generate_latest(self.registry)
        finally:
            self._live.view = None


class _LiveCollector(Collector):
    """The gauges, computed from the snapshot handed to `LiveFigures.exposition`."""

    def __init__(self, figures: LiveFigures) -> None:
        self.figures = figures
        self.view: tuple[QueueState, float] | None = None

    def collect(self) -> Iterator[Metric]:
        if self.view is None:  # describe() at registration: no values
            return
        state, now = self.view
        labels = self.figures.settings().labels
        waiting = GaugeMetricFamily(
            "stadtruf_queue_callers_waiting",
            "Callers waiting in the queue now",
            labels=("client", "topic"),
        )
        longest = GaugeMetricFamily(
            "stadtruf_queue_longest_wait_seconds",
            "Longest wait of a caller waiting now (0 while nobody waits)",
            labels=("client", "topic"),
        )
        for line in lf.waiting(state, now, labels):
            waiting.add_metric((line.client, line.topic), line.waiting)
            longest.add_metric((line.client, line.topic), round(line.longest_s, 1))
        agents = GaugeMetricFamily("stadtruf_agents", "Agents by state", labels=("state",))
        for status, count in lf.agents_by_state(state).items():
            agents.add_metric((status,), count)
        level = GaugeMetricFamily(
            "stadtruf_service_level_ratio",
            "Today's service level (answered within the client's threshold), 0..1",
            labels=("client",),
        )
        target = GaugeMetricFamily(
            "stadtruf_service_level_target_ratio",
            "The client's service-level target, 0..1",
            labels=("client",),
        )
        for client in self.figures.service_levels():
            if client.level is not None:
                level.add_metric((client.client,), client.level)
            target.add_metric((client.client,), client.target.share)
        yield from (waiting, longest, agents, level, target)


class FigureRoutes:
    """`GET /metrics` and `GET /service-level`; the permission checks are the caller's."""

    def __init__(
        self, figures: LiveFigures, snapshot: Callable[[], QueueState], clock: Clock
    ) -> None:
        self.figures = figures
        self.snapshot = snapshot
        self.clock = clock

    async def metrics(self, request: web.Request) -> web.Response:
        body = self.figures.exposition(self.snapshot(), self.clock())
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def service_level(self, request: web.Request) -> web.Response:
        figures = self.figures
        day = lf.local_day(figures.wall_clock())
        levels = [c.to_json() for c in figures.service_levels()]
        return web.json_response({"day": day.isoformat(), "clients": levels})
