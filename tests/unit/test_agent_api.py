"""The agent state API on 127.0.0.1, driving the real queue engine through a fake adapter."""

from __future__ import annotations

import base64
import inspect
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog

from stadtruf.api.agent_api import DEFAULT_HOST, ApiServer, is_loopback, make_api
from stadtruf.api.auth import SUPERVISOR, Action, ApiAuth, Principal, permitted
from stadtruf.api.routes import pause_reason
from stadtruf.config.agents import AgentsConfig
from stadtruf.core.queue import (
    AgentLoggedIn,
    AgentLoggedOut,
    AgentPaused,
    AgentReady,
    AgentRegistered,
    CallerJoined,
    Event,
    QueueState,
    new_queue,
    step,
)
from stadtruf.store.callbacks import CallbackRequest, CallbackStore, utc_iso
from tests.unit.conftest import serve_on_loopback

TOKEN = "Aufsicht-9c2e!token"  # distinctive, so a leak into responses or logs is easy to spot
PASSWORDS = {"agent-101": "Sip-Anna-4711", "agent-102": "Sip-Mehmet-ß"}
AUTH = ApiAuth(TOKEN, PASSWORDS)

CONFIG = AgentsConfig.model_validate(
    {
        "defaults": {"announce_every": 0, "wrapup": 0, "retry": 0, "autopause_after": 0},
        "agents": [
            {"id": "agent-101", "name": "Anna Schmidt", "skills": [{"topic": "kfz"}]},
            {"id": "agent-102", "name": "Mehmet Yılmaz", "skills": [{"topic": "*"}]},
            {"id": "agent-103", "name": "Jana Nowak", "skills": [{"topic": "abfall"}]},
        ],
    }
)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


SUPERVISOR_AUTH = {"Authorization": f"Bearer {TOKEN}"}
ANNA = {"Authorization": basic("agent-101", PASSWORDS["agent-101"])}
MEHMET = {"Authorization": basic("agent-102", PASSWORDS["agent-102"])}


@dataclass
class Clock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


@dataclass
class FakeControl:
    """QueueControl on the real engine: the views in the answers come from real states."""

    clock: Clock
    state: QueueState = field(default_factory=lambda: new_queue(CONFIG))
    calls: list[tuple[str, ...]] = field(default_factory=list)
    broken: bool = False
    recordings: dict[str, bytes] = field(default_factory=dict)

    def apply(self, event: Event) -> None:
        self.state, _ = step(self.state, event)

    def snapshot(self) -> QueueState:
        return self.state

    async def login(self, agent: str) -> None:
        self._called("login", agent)
        self.apply(AgentLoggedIn(agent, now=self.clock()))

    async def logout(self, agent: str) -> None:
        self._called("logout", agent)
        self.apply(AgentLoggedOut(agent, now=self.clock()))

    async def pause(self, agent: str, reason: str) -> None:
        self._called("pause", agent, reason)
        self.apply(AgentPaused(agent, reason, now=self.clock()))

    async def ready(self, agent: str) -> None:
        self._called("ready", agent)
        self.apply(AgentReady(agent, now=self.clock()))

    async def voicemail_audio(self, recording: str) -> bytes | None:
        return self.recordings.get(recording)

    def _called(self, *call: str) -> None:
        self.calls.append(call)
        if self.broken:
            raise RuntimeError(f"ARI gone, secret {TOKEN}")


@dataclass
class Api:
    base: str
    session: aiohttp.ClientSession
    control: FakeControl
    store: CallbackStore
    clock: Clock

    async def call(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        json: Any = None,
        data: str | bytes | None = None,
    ) -> tuple[int, Any, Mapping[str, str]]:
        async with self.session.request(
            method, self.base + path, headers=headers, json=json, data=data
        ) as response:
            assert response.content_type == "application/json"
            text = await response.text()
            assert "Traceback" not in text
            return response.status, await response.json(), response.headers


@pytest.fixture
async def api(tmp_path: Path, session: aiohttp.ClientSession) -> AsyncIterator[Api]:
    clock = Clock()
    control = FakeControl(clock)
    store = CallbackStore(tmp_path / "callbacks.jsonl")
    async with serve_on_loopback(make_api(control, AUTH, store, clock)) as url:
        yield Api(url.removesuffix("/ari"), session, control, store, clock)


# --- Authentication and permissions (pure) -------------------------------------------------------


@pytest.mark.parametrize(
    ("auth", "header", "principal"),
    [
        (AUTH, f"Bearer {TOKEN}", SUPERVISOR),
        (AUTH, f"bearer   {TOKEN} ", SUPERVISOR),
        (AUTH, "Bearer wrong", None),
        (AUTH, f"Bearer {TOKEN}x", None),
        (AUTH, basic("agent-101", "Sip-Anna-4711"), Principal("agent-101")),
        (AUTH, basic("agent-102", "Sip-Mehmet-ß"), Principal("agent-102")),
        (AUTH, basic("agent-101", "Sip-Mehmet-ß"), None),
        (AUTH, basic("agent-103", ""), None),  # no password configured for agent-103
        (AUTH, basic("agent-999", "x"), None),
        (AUTH, "Basic !!!not-base64", None),
        (AUTH, "Basic " + base64.b64encode(b"agent-101").decode(), None),  # no colon
        (AUTH, "Basic " + base64.b64encode(b"\xff:\xfe").decode(), None),
        (AUTH, f"Token {TOKEN}", None),
        (AUTH, "", None),
        (AUTH, None, None),
        (ApiAuth(passwords=PASSWORDS), f"Bearer {TOKEN}", None),
        (ApiAuth(TOKEN), basic("agent-101", "Sip-Anna-4711"), None),
        (ApiAuth(""), "Bearer ", None),  # an empty token is no token
        (ApiAuth(passwords={"agent-103": ""}), basic("agent-103", ""), None),
    ],
)
def test_authenticate(auth: ApiAuth, header: str | None, principal: Principal | None) -> None:
    assert auth.authenticate(header) == principal


def test_auth_from_env_and_secrets_out_of_repr() -> None:
    auth = ApiAuth.from_env({"STADTRUF_API_TOKEN": TOKEN}, PASSWORDS)
    assert auth.token == TOKEN and auth.enabled
    assert TOKEN not in repr(auth) and "Sip-Anna" not in repr(auth)
    assert not ApiAuth.from_env({"STADTRUF_API_TOKEN": ""}, {}).enabled
    assert not ApiAuth.from_env({}, {"agent-101": ""}).enabled


SELF, OTHER = Principal("agent-101"), "agent-102"


@pytest.mark.parametrize(
    ("principal", "action", "agent", "allowed"),
    [
        (SUPERVISOR, "list_agents", None, True),
        (SUPERVISOR, "change_agent", "agent-102", True),
        (SUPERVISOR, "close_callback", None, True),
        (SELF, "list_agents", None, False),
        (SELF, "read_agent", "agent-101", True),
        (SELF, "read_agent", OTHER, False),
        (SELF, "change_agent", "agent-101", True),
        (SELF, "change_agent", OTHER, False),
        (SELF, "change_agent", None, False),
        (SELF, "read_queues", None, True),
        (SELF, "read_callbacks", None, True),
        (SELF, "close_callback", None, True),
    ],
)
def test_permitted(principal: Principal, action: Action, agent: str | None, allowed: bool) -> None:
    assert permitted(principal, action, agent) is allowed


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"reason": "Mittag"}, "Mittag"),
        ({"reason": "  Schulung Bürgerbüro "}, "Schulung Bürgerbüro"),
        ({"reason": "x" * 40}, "x" * 40),
        ({"reason": "Rückfrage", "extra": 1}, "Rückfrage"),
    ],
)
def test_pause_reason_taken(body: object, reason: str) -> None:
    assert pause_reason(body) == reason


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (None, "expected"),
        (["Mittag"], "expected"),
        ({}, "expected"),
        ({"reason": ""}, "non-empty"),
        ({"reason": "   "}, "non-empty"),
        ({"reason": 5}, "non-empty"),
        ({"reason": "x" * 41}, "longer than 40"),
        ({"reason": "Mittag\nFAKE LOG LINE"}, "control"),
        ({"reason": "Mittag\x1b[31m"}, "control"),
        ({"reason": "abc\u202edef"}, "invisible"),  # right-to-left override
        ({"reason": "autopause"}, "set by the queue"),
    ],
)
def test_pause_reason_refused(body: object, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        pause_reason(body)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [("127.0.0.1", True), ("127.0.0.2", True), ("::1", True), ("localhost", True),
     ("0.0.0.0", False), ("192.168.1.10", False), ("server.example", False)],
)  # fmt: skip
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


# --- Over HTTP: authentication -------------------------------------------------------------------

ROUTES = [
    ("GET", "/agents"),
    ("GET", "/agents/agent-101"),
    ("GET", "/queues"),
    ("GET", "/callbacks"),
    ("POST", "/agents/agent-101/login"),
    ("POST", "/agents/agent-101/pause"),
    ("POST", "/callbacks/x/done"),
    ("GET", "/no/such/route"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": basic("agent-101", "wrong")},
        {"Authorization": basic("agent-103", "")},
    ],
    ids=["none", "wrong-token", "wrong-password", "agent-without-password"],
)
async def test_every_route_needs_credentials(
    api: Api, method: str, path: str, headers: dict[str, str]
) -> None:
    status, body, response_headers = await api.call(method, path, headers)
    assert (status, body) == (401, {"error": "authentication required"})
    assert "Basic" in response_headers["WWW-Authenticate"]
    assert api.control.calls == []


async def test_without_any_credentials_configured_everything_is_refused(
    session: aiohttp.ClientSession,
) -> None:
    clock = Clock()
    control = FakeControl(clock)
    with structlog.testing.capture_logs() as logs:
        app = make_api(control, ApiAuth.from_env({}, {}), None, clock)
    assert any(e["event"] == "api.no_credentials" for e in logs)
    async with serve_on_loopback(app) as url:
        base = url.removesuffix("/ari")
        for header in ({}, {"Authorization": "Bearer "}, {"Authorization": basic("agent-101", "")}):
            async with session.get(base + "/queues", headers=header) as response:
                assert response.status == 401


async def test_failed_login_is_logged_without_the_credentials(api: Api) -> None:
    with structlog.testing.capture_logs() as logs:
        await api.call("GET", "/queues", {"Authorization": basic("agent-101", "Rate-mal-123")})
    (entry,) = [e for e in logs if e["event"] == "api.unauthorized"]
    assert entry["path"] == "/queues" and entry["had_credentials"] is True
    assert "Rate-mal-123" not in repr(logs)


# --- Reading -------------------------------------------------------------------------------------


async def test_supervisor_reads_all_agents_and_queues(api: Api) -> None:
    api.control.apply(AgentLoggedIn("agent-102", now=40))
    status, body, _ = await api.call("GET", "/agents", SUPERVISOR_AUTH)
    assert status == 200
    assert [(a["id"], a["status"]) for a in body["agents"]] == [
        ("agent-101", "logged_out"),
        ("agent-102", "ready"),
        ("agent-103", "logged_out"),
    ]
    assert body["agents"][1]["idle_for_s"] == 60  # the API's clock, not the engine's last event
    status, body, _ = await api.call("GET", "/queues", SUPERVISOR_AUTH)
    assert status == 200
    assert [q["topic"] for q in body["queues"]] == ["abfall", "kfz"]


async def test_agent_reads_own_state_and_queues_only(api: Api) -> None:
    for agent in ("agent-101", "agent-102"):
        api.control.apply(AgentLoggedIn(agent, now=50))
        api.control.apply(AgentRegistered(agent, now=50))
    api.control.apply(CallerJoined("c1", "kfz", "duisburg", now=90))
    status, body, _ = await api.call("GET", "/agents/agent-101", ANNA)
    assert status == 200
    assert (body["name"], body["status"], body["call"]) == ("Anna Schmidt", "ringing", "c1")
    status, body, _ = await api.call("GET", "/queues", ANNA)
    assert status == 200
    kfz = next(q for q in body["queues"] if q["topic"] == "kfz")
    assert kfz["callers"][0]["call"] == "c1" and kfz["callers"][0]["waited_s"] == 10
    for path in ("/agents", "/agents/agent-102", "/agents/agent-999"):
        status, body, _ = await api.call("GET", path, ANNA)
        assert (status, body) == (403, {"error": "not allowed"}), path


async def test_unknown_agent_is_404_for_the_supervisor(api: Api) -> None:
    for method, path in [("GET", "/agents/agent-999"), ("POST", "/agents/agent-999/login")]:
        status, body, _ = await api.call(method, path, SUPERVISOR_AUTH)
        assert (status, body) == (404, {"error": "unknown agent"})
    # 404 before the body is looked at: the adapter never hears about unknown agents.
    status, _, _ = await api.call("POST", "/agents/agent-999/pause", SUPERVISOR_AUTH, data="x")
    assert status == 404
    assert api.control.calls == []


async def test_unknown_route_and_wrong_method_answer_json(api: Api) -> None:
    status, body, _ = await api.call("GET", "/nope", SUPERVISOR_AUTH)
    assert (status, body) == (404, {"error": "not found"})
    status, body, headers = await api.call("GET", "/agents/agent-101/login", SUPERVISOR_AUTH)
    assert status == 405 and body == {"error": "method not allowed"}
    assert headers["Allow"] == "POST"


# --- Changing state ------------------------------------------------------------------------------


async def test_agent_logs_in_pauses_gets_ready_and_logs_out(api: Api) -> None:
    with structlog.testing.capture_logs() as logs:
        status, body, _ = await api.call("POST", "/agents/agent-101/login", ANNA)
        assert (status, body["status"], body["idle_for_s"]) == (200, "ready", 0)
        api.clock.now = 130
        status, body, _ = await api.call(
            "POST", "/agents/agent-101/pause", ANNA, json={"reason": "Mittag"}
        )
        assert (status, body["status"], body["pause_reason"]) == (200, "paused", "Mittag")
        status, body, _ = await api.call("POST", "/agents/agent-101/ready", ANNA)
        assert (status, body["status"], body["pause_reason"]) == (200, "ready", None)
        status, body, _ = await api.call("POST", "/agents/agent-101/logout", ANNA)
        assert (status, body["status"]) == (200, "logged_out")
    assert api.control.calls == [
        ("login", "agent-101"),
        ("pause", "agent-101", "Mittag"),
        ("ready", "agent-101"),
        ("logout", "agent-101"),
    ]
    changes = [e for e in logs if e["event"] == "agent.state_changed"]
    assert [(e["agent"], e["action"], e["by"], e["before"], e["after"]) for e in changes] == [
        ("agent-101", "login", "agent-101", "logged_out", "ready"),
        ("agent-101", "pause", "agent-101", "ready", "paused"),
        ("agent-101", "ready", "agent-101", "paused", "ready"),
        ("agent-101", "logout", "agent-101", "ready", "logged_out"),
    ]
    assert changes[1]["reason"] == "Mittag"


async def test_supervisor_changes_any_agent_and_is_logged_as_supervisor(api: Api) -> None:
    with structlog.testing.capture_logs() as logs:
        status, body, _ = await api.call("POST", "/agents/agent-103/login", SUPERVISOR_AUTH)
    assert (status, body["id"], body["status"]) == (200, "agent-103", "ready")
    (change,) = [e for e in logs if e["event"] == "agent.state_changed"]
    assert change["by"] == "supervisor:token" and change["agent"] == "agent-103"
    assert TOKEN not in repr(logs)


async def test_agent_cannot_change_a_colleague(api: Api) -> None:
    for action in ("login", "logout", "pause", "ready"):
        status, body, _ = await api.call(
            "POST", f"/agents/agent-102/{action}", ANNA, json={"reason": "x"}
        )
        assert (status, body) == (403, {"error": "not allowed"})
    assert api.control.calls == []


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"data": "Mittag"}, "body is not valid JSON"),
        ({"data": b"\xff\xfe"}, "body is not valid JSON"),
        ({}, "body is not valid JSON"),
        ({"json": ["Mittag"]}, 'expected {"reason": "..."}'),
        ({"json": {"grund": "Mittag"}}, 'expected {"reason": "..."}'),
        ({"json": {"reason": "x" * 41}}, "reason is longer than 40 characters"),
        ({"json": {"reason": "a\r\nb"}}, "reason contains control or invisible characters"),
    ],
)
async def test_pause_with_bad_input_is_400(api: Api, kwargs: dict[str, Any], problem: str) -> None:
    api.control.apply(AgentLoggedIn("agent-101", now=0))
    status, body, _ = await api.call("POST", "/agents/agent-101/pause", ANNA, **kwargs)
    assert (status, body) == (400, {"error": problem})
    assert api.control.calls == []


async def test_oversized_body_is_refused(api: Api) -> None:
    api.control.apply(AgentLoggedIn("agent-101", now=0))
    status, body, _ = await api.call(
        "POST", "/agents/agent-101/pause", ANNA, json={"reason": "x" * 10_000}
    )
    assert status == 413 and "error" in body
    assert api.control.calls == []


@pytest.mark.parametrize(("action", "json"), [("pause", {"reason": "Mittag"}), ("ready", None)])
async def test_pause_or_ready_while_logged_out_is_a_conflict(
    api: Api, action: str, json: Any
) -> None:
    status, body, _ = await api.call("POST", f"/agents/agent-101/{action}", ANNA, json=json)
    assert (status, body) == (409, {"error": "agent is not logged in"})
    assert api.control.calls == []


async def test_adapter_failure_is_500_without_details(api: Api) -> None:
    api.control.broken = True
    with structlog.testing.capture_logs() as logs:
        status, body, _ = await api.call("POST", "/agents/agent-101/login", ANNA)
    assert (status, body) == (500, {"error": "internal error"})
    assert any(e["event"] == "api.error" and e["log_level"] == "error" for e in logs)


# --- Callbacks -----------------------------------------------------------------------------------


def callback(id: str, queued_minute: int) -> CallbackRequest:
    return CallbackRequest(
        id=id,
        number="+492036004123",
        client="duisburg",
        topic="kfz",
        language="de",
        requested_at=utc_iso(datetime(2025, 3, 4, 9, 30, tzinfo=UTC)),
        queued_at=utc_iso(datetime(2025, 3, 4, 9, queued_minute, tzinfo=UTC)),
        waited_s=120.0,
    )


async def test_callbacks_listed_in_working_order(api: Api) -> None:
    api.store.add(callback("late", 20))
    api.store.add(callback("early", 5))
    api.store.add(callback("done", 1))
    api.store.mark_done("done", "agent-102")
    status, body, _ = await api.call("GET", "/callbacks?status=open", ANNA)
    assert status == 200
    assert [c["id"] for c in body["callbacks"]] == ["early", "late"]
    assert body["callbacks"][0] == callback("early", 5).to_json()
    status, body, _ = await api.call("GET", "/callbacks", SUPERVISOR_AUTH)
    assert [(c["id"], c["status"]) for c in body["callbacks"]] == [
        ("done", "done"),
        ("early", "open"),
        ("late", "open"),
    ]
    status, body, _ = await api.call("GET", "/callbacks?status=all", ANNA)
    assert (status, body) == (400, {"error": "status must be one of open, done"})


async def test_agent_closes_a_callback_once(api: Api) -> None:
    api.store.add(callback("cb1", 5))
    with structlog.testing.capture_logs() as logs:
        status, body, _ = await api.call("POST", "/callbacks/cb1/done", ANNA)
    assert (status, body["status"], body["done_by"]) == (200, "done", "agent-101")
    assert any(e["event"] == "api.callback_done" and e["by"] == "agent-101" for e in logs)
    # The same agent again (a retried request): fine. A colleague: told who was first.
    status, body, _ = await api.call("POST", "/callbacks/cb1/done", ANNA)
    assert status == 200
    status, body, _ = await api.call("POST", "/callbacks/cb1/done", MEHMET)
    assert status == 409
    assert body["callback"]["done_by"] == "agent-101"
    status, body, _ = await api.call("POST", "/callbacks/nope/done", ANNA)
    assert (status, body) == (404, {"error": "unknown callback"})
    assert [(r.id, r.done_by) for r in api.store.list()] == [("cb1", "agent-101")]


@pytest.mark.parametrize(
    ("json", "status", "done_by"),
    [
        (None, 200, None),
        ({"agent": "agent-103"}, 200, "agent-103"),
        ({"agent": "agent-999"}, 400, None),
        ({"agent": ["agent-103"]}, 400, None),
        (["agent-103"], 400, None),
    ],
)
async def test_supervisor_closes_a_callback(
    api: Api, json: Any, status: int, done_by: str | None
) -> None:
    api.store.add(callback("cb1", 5))
    answer, _, _ = await api.call("POST", "/callbacks/cb1/done", SUPERVISOR_AUTH, json=json)
    assert answer == status
    stored = api.store.get("cb1")
    assert stored is not None
    assert stored.status == ("done" if status == 200 else "open")
    assert stored.done_by == done_by


async def test_voicemail_audio(api: Api) -> None:
    api.store.add(replace(callback("vm1", 5), recording="stadtruf-vm-1", recording_s=7.0))
    api.store.add(replace(callback("vm2", 6), recording="stadtruf-vm-2", recording_s=3.0))
    api.store.add(callback("cb1", 7))
    api.control.recordings["stadtruf-vm-1"] = b"RIFF\x00\x00WAVEfmt "
    async with api.session.get(api.base + "/callbacks/vm1/recording", headers=ANNA) as response:
        assert response.status == 200
        assert response.content_type == "audio/wav"
        assert await response.read() == b"RIFF\x00\x00WAVEfmt "
    for callback_id, error in [
        ("vm2", "the recording is no longer stored"),
        ("cb1", "this callback request has no voicemail"),
        ("nope", "unknown callback"),
    ]:
        status, body, _ = await api.call("GET", f"/callbacks/{callback_id}/recording", ANNA)
        assert (status, body) == (404, {"error": error})
    status, _, _ = await api.call("GET", "/callbacks/vm1/recording")
    assert status == 401


async def test_callbacks_not_enabled(session: aiohttp.ClientSession) -> None:
    clock = Clock()
    async with serve_on_loopback(make_api(FakeControl(clock), AUTH, None, clock)) as url:
        base = url.removesuffix("/ari")
        for method, path in [("GET", "/callbacks"), ("POST", "/callbacks/cb1/done")]:
            async with session.request(method, base + path, headers=ANNA) as response:
                assert response.status == 404
                assert await response.json() == {"error": "callbacks are not enabled"}


# --- The server ----------------------------------------------------------------------------------


async def test_server_binds_loopback_by_default_and_closes(
    session: aiohttp.ClientSession,
) -> None:
    assert inspect.signature(ApiServer.start).parameters["host"].default == DEFAULT_HOST
    assert DEFAULT_HOST == "127.0.0.1"
    clock = Clock()
    server = ApiServer(make_api(FakeControl(clock), AUTH, None, clock))
    await server.start(port=0)
    try:
        assert server.port
        async with session.get(
            f"http://127.0.0.1:{server.port}/agents", headers=SUPERVISOR_AUTH
        ) as response:
            assert response.status == 200
        with pytest.raises(RuntimeError):
            await server.start(port=0)
    finally:
        await server.close()
    assert server.port is None
    await server.close()  # twice is harmless


async def test_server_refuses_an_empty_host() -> None:
    clock = Clock()
    server = ApiServer(make_api(FakeControl(clock), AUTH, None, clock))
    with pytest.raises(ValueError, match="host is empty"):
        await server.start("", 0)
