"""/metrics and /service-level through aiohttp's test client, on the real queue engine."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from stadtruf.api.agent_api import make_api
from stadtruf.api.auth import SCRAPER, ApiAuth, Principal, permitted
from stadtruf.api.metrics import FigureSettings, LiveFigures
from stadtruf.core import live_figures as lf
from stadtruf.core.lifecycle import (
    AgentAnswered,
    Arrived,
    Ended,
    Happened,
    OriginDecided,
    Queued,
    RouteChosen,
)
from stadtruf.core.queue import AgentLoggedIn, CallerJoined, Event
from stadtruf.core.service_level import Target
from tests.unit.test_agent_api import AUTH, PASSWORDS, TOKEN, Clock, FakeControl, basic

METRICS_TOKEN = "Prometheus-7f1a!scrape"
HOSTILE = 'evil"} 1\nstadtruf_pwned{x="y'
SETTINGS = FigureSettings(
    lf.labels_of(["bottrop", "dinslaken"], ["kfz", "abfall"]),
    targets={"dinslaken": Target(0.9, 20)},
    default_target=Target(0.8, 30),
)
NOON = datetime(2026, 6, 4, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")).timestamp()


@dataclass
class Metrics:
    client: TestClient
    control: FakeControl
    figures: LiveFigures

    def engine(self, *events: Event) -> None:
        for event in events:
            self.control.apply(event)

    async def scrape(self, token: str = METRICS_TOKEN) -> str:
        response = await self.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert response.status == 200
        assert response.content_type == "text/plain"
        return await response.text()


@pytest.fixture
async def metrics() -> AsyncIterator[Metrics]:
    clock = Clock()
    control = FakeControl(clock)
    figures = LiveFigures(lambda: SETTINGS, wall_clock=lambda: NOON)
    auth = ApiAuth(TOKEN, PASSWORDS, METRICS_TOKEN)
    app = make_api(control, auth, None, clock, figures)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        yield Metrics(client, control, figures)


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def a_call(call: str, client: str, topic: str, answered_after: float | None) -> list[Happened]:
    t = NOON - 600
    events: list[Happened] = [
        Happened(call, t, Arrived("115", "0204155540")),
        Happened(call, t + 1, OriginDecided(client, "given", "test")),
        Happened(call, t + 2, RouteChosen("queue", topic, topic, "main", "digit")),
        Happened(call, t + 2, Queued(topic)),
    ]
    if answered_after is not None:
        events.append(Happened(call, t + 2 + answered_after, AgentAnswered("agent-101")))
    events.append(Happened(call, t + 100, Ended("caller")))
    return events


def test_the_metrics_token_reads_metrics_only() -> None:
    assert permitted(SCRAPER, "read_metrics")
    assert not permitted(SCRAPER, "read_queues")
    assert not permitted(SCRAPER, "list_agents")
    assert permitted(Principal(), "read_metrics")  # the supervisor
    assert not permitted(Principal("agent-101"), "read_metrics")
    auth = ApiAuth(TOKEN, PASSWORDS, METRICS_TOKEN)
    assert auth.authenticate(f"Bearer {METRICS_TOKEN}") == SCRAPER
    assert auth.authenticate(f"Bearer {TOKEN}") == Principal()
    assert ApiAuth(metrics_token=METRICS_TOKEN).enabled
    assert ApiAuth(metrics_token="").authenticate("Bearer ") is None
    assert METRICS_TOKEN not in repr(auth)


async def test_who_may_read_what(metrics: Metrics) -> None:
    client = metrics.client
    scraper = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    anna = {"Authorization": basic("agent-101", PASSWORDS["agent-101"])}
    assert (await client.get("/metrics")).status == 401
    assert (await client.get("/metrics", headers={"Authorization": "Bearer nope"})).status == 401
    assert (await client.get("/metrics", headers=anna)).status == 403
    assert (await client.get("/agents", headers=scraper)).status == 403
    assert (await client.get("/service-level", headers=scraper)).status == 403
    assert (await client.get("/service-level", headers=anna)).status == 200
    await metrics.scrape(TOKEN)  # the supervisor token reads everything


async def test_waiting_callers_agents_and_calls_in_the_exposition(metrics: Metrics) -> None:
    now = metrics.control.clock.now
    metrics.engine(
        AgentLoggedIn("agent-101", now=now),
        CallerJoined("c1", topic="kfz", client="bottrop", now=now),
        CallerJoined("c2", topic="kfz", client="bottrop", now=now + 15),
    )
    metrics.control.clock.now = now + 20
    for call in (a_call("a", "bottrop", "kfz", 10), a_call("b", "dinslaken", "abfall", 25)):
        for happened in call:
            metrics.figures.record(happened)
    values = samples(await metrics.scrape())
    kfz = (("client", "bottrop"), ("topic", "kfz"))
    assert values["stadtruf_queue_callers_waiting", kfz] == 2
    assert values["stadtruf_queue_longest_wait_seconds", kfz] == 20
    assert (
        values["stadtruf_queue_callers_waiting", (("client", "dinslaken"), ("topic", "kfz"))] == 0
    )
    assert values["stadtruf_agents", (("state", "ready"),)] == 1
    assert values["stadtruf_agents", (("state", "logged_out"),)] == 2
    assert values["stadtruf_agents", (("state", "paused"),)] == 0
    answered = (("client", "bottrop"), ("outcome", "answered"), ("topic", "kfz"))
    assert values["stadtruf_calls_total", answered] == 1
    waits = (("client", "dinslaken"), ("le", "20.0"), ("result", "answered"))
    assert values["stadtruf_queue_wait_seconds_bucket", waits] == 0
    waits = (("client", "dinslaken"), ("le", "25.0"), ("result", "answered"))
    assert values["stadtruf_queue_wait_seconds_bucket", waits] == 1
    # Dinslaken's own target: 90 % in 20 s; its call waited 25 s
    assert values["stadtruf_service_level_ratio", (("client", "dinslaken"),)] == 0
    assert values["stadtruf_service_level_target_ratio", (("client", "dinslaken"),)] == 0.9
    assert values["stadtruf_service_level_ratio", (("client", "bottrop"),)] == 1


async def test_hostile_names_never_become_labels(metrics: Metrics) -> None:
    metrics.engine(CallerJoined("c1", topic=HOSTILE, client=HOSTILE, now=metrics.control.clock.now))
    for happened in a_call("x", HOSTILE, HOSTILE, None):
        metrics.figures.record(happened)
    text = await metrics.scrape()
    assert "evil" not in text and "pwned" not in text
    allowed = {
        "client": {"bottrop", "dinslaken", "other", "none"},
        "topic": {"kfz", "abfall", "other", "none"},
    }
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            for name, value in sample.labels.items():
                assert value in allowed.get(name, {value}), (sample.name, name, value)
    values = samples(text)
    assert values["stadtruf_queue_callers_waiting", (("client", "other"), ("topic", "other"))] == 1
    abandoned = (("client", "other"), ("outcome", "abandoned_queue"), ("topic", "other"))
    assert values["stadtruf_calls_total", abandoned] == 1


async def test_service_level_per_client_today(metrics: Metrics) -> None:
    for call in (
        a_call("a", "bottrop", "kfz", 10),
        a_call("b", "bottrop", "kfz", 40),
        a_call("c", "dinslaken", "abfall", 15),
    ):
        for happened in call:
            metrics.figures.record(happened)
    response = await metrics.client.get(
        "/service-level", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert response.status == 200
    body = await response.json()
    assert body["day"] == "2026-06-04"
    assert body["clients"] == [
        {
            "client": "bottrop",
            "offered": 2,
            "answered": 2,
            "answered_within": 1,
            "abandoned": 0,
            "short_abandoned": 0,
            "threshold_s": 30,
            "service_level_percent": 50.0,
            "target_percent": 80.0,
            "meets_target": False,
        },
        {
            "client": "dinslaken",
            "offered": 1,
            "answered": 1,
            "answered_within": 1,
            "abandoned": 0,
            "short_abandoned": 0,
            "threshold_s": 20,
            "service_level_percent": 100.0,
            "target_percent": 90.0,
            "meets_target": True,
        },
    ]


async def test_without_figures_there_is_no_metrics_route() -> None:
    control = FakeControl(Clock())
    async with TestClient(TestServer(make_api(control, AUTH, None, Clock()))) as client:
        response = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status == 404
