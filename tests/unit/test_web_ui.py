"""The web UI on 127.0.0.1 against the real queue engine (fake adapter): logins, who may
see and do what, CSRF, the lockout shared with the API, the pushed views."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from stadtruf.api.agent_api import ApiServer, InsecureListen, make_api
from stadtruf.api.web import COOKIE, WebSettings, WebUi
from stadtruf.api.web_data import ScreenData
from stadtruf.config import load_site
from stadtruf.core.lockout import LockoutRule, Throttle
from stadtruf.core.queue import AgentLoggedIn, AgentRegistered, CallerJoined
from stadtruf.core.screens import CallBook
from stadtruf.core.web_access import User, password_hash
from stadtruf.paths import sample_config_dir
from tests.unit.conftest import serve_on_loopback
from tests.unit.test_agent_api import AUTH, PASSWORDS, Clock, FakeControl, basic

SITE = load_site(sample_config_dir())
USERS = {
    "agent-101": User("agent-101", "agent", password_hash("Anna-web-4711")),
    "agent-102": User("agent-102", "agent", password_hash("Mehmet-web-0815")),
    "aufsicht": User("aufsicht", "supervisor", password_hash("Aufsicht-web-1")),
    "proxy-only": User("proxy-only", "supervisor"),
}
LOGINS = {
    "agent-101": "Anna-web-4711",
    "agent-102": "Mehmet-web-0815",
    "aufsicht": "Aufsicht-web-1",
}
RULE = LockoutRule(free=3, delay_s=30, block_after=6, block_s=600, window_s=600)


@dataclass
class Web:
    base: str
    session: aiohttp.ClientSession
    control: FakeControl
    throttle: Throttle

    def origin(self) -> dict[str, str]:
        return {"Origin": self.base}

    async def login(self, name: str, password: str | None = None) -> dict[str, str]:
        """Log in; the cookie header of the session (the jar stays out of it: explicit)."""
        async with self.session.post(
            self.base + "/ui/login",
            data={"name": name, "password": password or LOGINS[name]},
            headers=self.origin(),
            allow_redirects=False,
        ) as response:
            assert response.status == 303, await response.text()
            cookie = response.cookies[COOKIE]
        return {"Cookie": f"{COOKIE}={cookie.value}"}

    async def csrf(self, cookie: dict[str, str], page: str) -> str:
        async with self.session.get(self.base + page, headers=cookie) as response:
            assert response.status == 200
            text = await response.text()
        marker = 'name="csrf-token" content="'
        return text.split(marker, 1)[1].split('"', 1)[0]


@pytest.fixture
async def web() -> AsyncIterator[Web]:
    clock = Clock()
    control = FakeControl(clock)
    throttle = Throttle(RULE)
    data = ScreenData(control.snapshot, clock, None, CallBook(), lambda: SITE.config, clock)
    settings = WebSettings(USERS, "X-Remote-User", frozenset({"10.9.9.9"}))
    ui = WebUi(settings, data, control, throttle)
    app = make_api(control, AUTH, None, clock, throttle=throttle, web_ui=ui)
    async with (
        aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as session,
        serve_on_loopback(app) as url,
    ):
        yield Web(url.removesuffix("/ari"), session, control, throttle)


PAGES = ["/", "/ui/", "/ui/wallboard", "/ui/agent/agent-101", "/ui/agent/agent-102"]
NOT_PAGES = [
    ("GET", "/ui/events/wallboard"),
    ("GET", "/ui/events/agent/agent-101"),
    ("GET", "/ui/static/app.js"),
    ("POST", "/ui/agent/agent-101/pause"),
    ("POST", "/ui/agent/agent-101/ready"),
    ("POST", "/ui/logout"),
    ("GET", "/agents"),
    ("GET", "/queues"),
    ("GET", "/service-level"),
    ("GET", "/metrics"),
    ("POST", "/agents/agent-101/pause"),
]


async def test_without_login_pages_redirect_to_the_login_and_the_rest_answers_401(
    web: Web,
) -> None:
    for page in PAGES:
        async with web.session.get(web.base + page, allow_redirects=False) as response:
            assert response.status == 303, page
            assert response.headers["Location"] == "/ui/login", page
    for method, path in NOT_PAGES:
        async with web.session.request(
            method, web.base + path, headers=web.origin(), allow_redirects=False
        ) as response:
            assert response.status == 401, (method, path)
    async with web.session.get(web.base + "/ui/login") as response:
        assert response.status == 200
        assert "Anmeldung" in await response.text()


async def test_login_gives_a_secure_httponly_strict_cookie(web: Web) -> None:
    async with web.session.post(
        web.base + "/ui/login",
        data={"name": "agent-101", "password": LOGINS["agent-101"]},
        headers=web.origin(),
        allow_redirects=False,
    ) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/ui/agent/agent-101"
        cookie = response.cookies[COOKIE]
    assert cookie["secure"] and cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    async with web.session.post(
        web.base + "/ui/login",
        data={"name": "agent-101", "password": "falsch"},
        headers=web.origin(),
    ) as response:
        assert response.status == 401
        assert "Name oder Passwort falsch" in await response.text()


async def test_an_agent_sees_and_acts_only_for_itself(web: Web) -> None:
    anna = await web.login("agent-101")
    token = await web.csrf(anna, "/ui/agent/agent-101")
    for path in ("/ui/agent/agent-102", "/ui/events/agent/agent-102", "/ui/wallboard"):
        async with web.session.get(web.base + path, headers=anna) as response:
            assert response.status == 403, path
    web.control.apply(AgentLoggedIn("agent-102", now=1))
    headers = {**anna, **web.origin(), "X-CSRF-Token": token}
    async with web.session.post(
        web.base + "/ui/agent/agent-102/logout", headers=headers, json={}
    ) as response:
        assert response.status == 403
    assert web.control.calls == []
    web.control.apply(AgentLoggedIn("agent-101", now=1))
    async with web.session.post(
        web.base + "/ui/agent/agent-101/pause", headers=headers, json={"reason": "Mittagspause"}
    ) as response:
        assert response.status == 200
        body = await response.json()
    assert body["agent"]["text"] == "Pause: Mittagspause"
    assert web.control.calls == [("pause", "agent-101", "Mittagspause")]
    # A supervisor may open every screen.
    boss = await web.login("aufsicht")
    for path in ("/ui/agent/agent-102", "/ui/wallboard"):
        async with web.session.get(web.base + path, headers=boss) as response:
            assert response.status == 200, path


async def test_a_cross_site_form_post_is_refused(web: Web) -> None:
    anna = await web.login("agent-101")
    token = await web.csrf(anna, "/ui/agent/agent-101")
    web.control.apply(AgentLoggedIn("agent-101", now=1))
    url = web.base + "/ui/agent/agent-101/pause"
    form = {"reason": "Pause", "csrf": token}
    # Another site's form: its Origin, even with the cookie (no SameSite) and a stolen token.
    for headers in (
        {**anna, "Origin": "http://evil.example"},
        {**anna, "Origin": "null"},
        {**anna, "Referer": "http://evil.example/form.html"},
        anna,  # neither Origin nor Referer
    ):
        async with web.session.post(url, headers=headers, data=form) as response:
            assert response.status == 403, headers
    # Our origin, but no or a wrong token.
    async with web.session.post(url, headers={**anna, **web.origin()}, data={"reason": "P"}) as r:
        assert r.status == 403
    form_wrong = {"reason": "P", "csrf": "x" + token}
    async with web.session.post(url, headers={**anna, **web.origin()}, data=form_wrong) as r:
        assert r.status == 403
    assert web.control.calls == []
    async with web.session.post(url, headers={**anna, **web.origin()}, data=form) as r:
        assert r.status == 200
    assert web.control.calls == [("pause", "agent-101", "Pause")]
    # The login form too: a foreign page cannot log a browser in.
    async with web.session.post(
        web.base + "/ui/login",
        data={"name": "agent-101", "password": LOGINS["agent-101"]},
        headers={"Origin": "http://evil.example"},
        allow_redirects=False,
    ) as response:
        assert response.status == 403


async def test_bad_logins_in_a_loop_are_rate_limited_then_blocked(web: Web) -> None:
    async def attempt(password: str) -> tuple[int, str | None]:
        async with web.session.post(
            web.base + "/ui/login",
            data={"name": "agent-101", "password": password},
            headers=web.origin(),
            allow_redirects=False,
        ) as response:
            return response.status, response.headers.get("Retry-After")

    for _ in range(RULE.free):
        assert await attempt("falsch") == (401, None)
    status, retry = await attempt(LOGINS["agent-101"])  # right, but too soon
    assert status == 429 and retry is not None and 0 < int(retry) <= RULE.delay_s
    # Time passes between attempts (the throttle's keys are aged by hand): blocked after six.
    for _ in range(RULE.block_after - RULE.free):
        web.throttle.keys = {
            k: type(v)(tuple(t - RULE.delay_s for t in v.failures), v.blocked_until)
            for k, v in web.throttle.keys.items()
        }
        assert (await attempt("falsch"))[0] == 401
    status, retry = await attempt(LOGINS["agent-101"])
    assert status == 429 and retry is not None and int(retry) > RULE.delay_s


async def test_the_api_basic_and_bearer_auth_share_the_lockout(web: Web) -> None:
    wrong = {"Authorization": basic("agent-101", "falsch")}
    for _ in range(RULE.free):
        async with web.session.get(web.base + "/agents/agent-101", headers=wrong) as response:
            assert response.status == 401
    right = {"Authorization": basic("agent-101", PASSWORDS["agent-101"])}
    async with web.session.get(web.base + "/agents/agent-101", headers=right) as response:
        assert response.status == 429
        assert int(response.headers["Retry-After"]) > 0
    async with web.session.post(
        web.base + "/ui/login",
        data={"name": "agent-101", "password": LOGINS["agent-101"]},
        headers=web.origin(),
        allow_redirects=False,
    ) as response:
        assert response.status == 429  # the same address, the same count


async def test_a_big_body_is_refused(web: Web) -> None:
    headers = {"Authorization": basic("agent-101", PASSWORDS["agent-101"])}
    async with web.session.post(
        web.base + "/agents/agent-101/pause", headers=headers, data=b"x" * 100_000
    ) as response:
        assert response.status == 413


async def test_the_server_refuses_a_non_loopback_address_without_tls(web: Web) -> None:
    server = ApiServer(make_api(web.control, AUTH, None, Clock()))
    with pytest.raises(InsecureListen):
        await server.start("192.0.2.10", 0)
    assert server.port is None


async def test_a_trusted_proxy_header_counts_only_from_the_proxy(web: Web) -> None:
    headers = {"X-Remote-User": "aufsicht"}
    async with web.session.get(
        web.base + "/ui/wallboard", headers=headers, allow_redirects=False
    ) as response:
        assert response.status == 303  # we are 127.0.0.1, not the proxy 10.9.9.9


async def read_event(response: aiohttp.ClientResponse) -> Any:
    async with asyncio.timeout(5):
        while True:
            line = (await response.content.readline()).decode()
            if line.startswith("data: "):
                return json.loads(line.removeprefix("data: "))


async def test_the_agent_screen_is_pushed_when_the_phone_rings(web: Web) -> None:
    anna = await web.login("agent-101")
    for event in (AgentRegistered("agent-101", now=1), AgentLoggedIn("agent-101", now=1)):
        web.control.apply(event)
    async with web.session.get(web.base + "/ui/events/agent/agent-101", headers=anna) as r:
        assert r.status == 200
        assert r.content_type == "text/event-stream"
        first = await read_event(r)
        assert first["agent"]["status"] == "ready" and first["call"] is None
        web.control.apply(CallerJoined("c1", "kfz", "bottrop", now=90))
        screen = await read_event(r)
    assert screen["agent"]["status"] == "ringing"
    call = screen["call"]
    assert (call["client_name"], call["topic_name"]) == ("Bottrop", "Kfz-Zulassung")
    titles = [k["title"] for k in screen["knowledge"]]
    assert titles == ["Kfz-Zulassung in Bottrop"]


async def test_the_wallboard_shows_who_waits_per_client_and_topic(web: Web) -> None:
    boss = await web.login("aufsicht")
    web.control.apply(CallerJoined("c1", "vermittlung", "bottrop", now=90))
    async with web.session.get(web.base + "/ui/events/wallboard", headers=boss) as r:
        board = await read_event(r)
    (line,) = board["waiting"]
    assert (line["client_name"], line["topic_name"], line["waiting"]) == (
        "Bottrop",
        "Vermittlung",
        1,
    )
    assert line["longest_s"] == 10
    assert {a["id"]: a["text"] for a in board["agents"]}["agent-101"] == "Abgemeldet"


async def test_a_transfer_only_to_the_clients_offices(web: Web) -> None:
    anna = await web.login("agent-101")
    token = await web.csrf(anna, "/ui/agent/agent-101")
    headers = {**anna, **web.origin(), "X-CSRF-Token": token}
    url = web.base + "/ui/agent/agent-101/transfer"
    async with web.session.post(url, headers=headers, json={"number": "0204170350"}) as r:
        assert r.status == 400  # no call: no client, no offices
    for event in (AgentRegistered("agent-101", now=1), AgentLoggedIn("agent-101", now=1)):
        web.control.apply(event)
    web.control.apply(CallerJoined("c1", "kfz", "bottrop", now=90))  # agent-101's skill
    for number in ("0900123456", "0049301234", "0203283-0", ""):
        async with web.session.post(url, headers=headers, json={"number": number}) as r:
            assert r.status == 400, number
    # Bottrop's office; the fake control has no transfer: the check passed, then 404.
    async with web.session.post(url, headers=headers, json={"number": "0204170350"}) as r:
        assert r.status == 404, await r.text()
