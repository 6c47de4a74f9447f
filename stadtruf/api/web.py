"""The web UI: login, the supervisors' wallboard, the agents' screens, pushed by SSE.

Everything under `/ui/` needs a session (cookie `stadtruf_session`: Secure, HttpOnly,
SameSite=Strict) made by the login form, or, from a trusted reverse proxy, a user named in
its header; only the login form and its stylesheet are open. Pages without a session redirect
to the login, everything else answers 401. A state-changing request must come from our own
pages (Origin or Referer) and carry the session's CSRF token (header `X-CSRF-Token` or form
field `csrf`). Logins go through the same `Throttle` as the API's Basic/Bearer checks.

    GET  /ui/login, POST /ui/login, POST /ui/logout
    GET  /ui/wallboard                 the wallboard (supervisors)
    GET  /ui/agent/{id}                an agent's screen (that agent, or a supervisor)
    GET  /ui/events/wallboard          Server-Sent Events: the wallboard's JSON on each change
    GET  /ui/events/agent/{id}         Server-Sent Events: the agent screen's JSON
    POST /ui/agent/{id}/{ready|pause|logout|login|transfer}   pause takes {"reason": "..."},
                                       transfer {"number": "..."} (one of the client's offices)
    GET  /ui/static/{file}             script and stylesheet
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Protocol, runtime_checkable

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from stadtruf.api.errors import ApiError
from stadtruf.api.routes import QueueControl, pause_reason
from stadtruf.api.web_data import ScreenData
from stadtruf.api.web_pages import agent_page, login_page, wallboard_page
from stadtruf.core.lockout import Throttle
from stadtruf.core.screens import may_transfer
from stadtruf.core.web_access import Page, User, check_login, home, may, same_origin
from stadtruf.core.web_access import token_matches as csrf_ok

log = structlog.get_logger(__name__)

COOKIE = "stadtruf_session"
SESSION_S = 12 * 3600.0  # a shift
PUSH_EVERY_S = 0.2  # the views are compared this often; a change is sent at once
KEEPALIVE_S = 15.0
STATIC = {"app.js": "text/javascript", "style.css": "text/css"}
OPEN_PATHS = frozenset({"/ui/login", "/ui/static/style.css"})
WEB_USER = web.RequestKey("web_user", User)
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


@dataclass(frozen=True)
class WebSettings:
    users: Mapping[str, User] = field(default_factory=dict, repr=False)
    # A reverse proxy that authenticates users itself names them in this header; trusted only
    # from these addresses.
    trusted_header: str | None = None
    trusted_proxies: frozenset[str] = frozenset()


@dataclass
class Session:
    user: User
    csrf: str
    expires: float


class WebUi:
    def __init__(
        self,
        settings: WebSettings,
        data: ScreenData,
        control: QueueControl,
        throttle: Throttle,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self.data = data
        self.control = control
        self.throttle = throttle
        self.clock = clock
        self.sessions: dict[str, Session] = {}
        self.stopping = asyncio.Event()

    def add_to(self, app: web.Application) -> None:
        r = app.router
        r.add_get("/", self.root)
        r.add_get("/ui/", self.root)
        r.add_get("/ui/login", self.login_form)
        r.add_post("/ui/login", self.login)
        r.add_post("/ui/logout", self.logout)
        r.add_get("/ui/wallboard", self.wallboard)
        r.add_get("/ui/agent/{id}", self.agent)
        r.add_get("/ui/events/wallboard", self.wallboard_events)
        r.add_get("/ui/events/agent/{id}", self.agent_events)
        r.add_post("/ui/agent/{id}/{action}", self.act)
        r.add_get("/ui/static/{name}", self.static)
        app.on_shutdown.append(self._stop)

    async def _stop(self, app: web.Application) -> None:
        self.stopping.set()  # open event streams end; the server need not wait for them

    # --- sessions ------------------------------------------------------------------------

    def is_web_path(self, path: str) -> bool:
        return path == "/" or path.startswith("/ui/") or path == "/ui"

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not self.is_web_path(request.path):
            return await handler(request)
        if request.path not in OPEN_PATHS and request.path not in ("/", "/ui/"):
            user = self._user(request)
            if user is None:
                if request.method == "GET" and not request.path.startswith(
                    ("/ui/events/", "/ui/static/")
                ):
                    raise web.HTTPSeeOther("/ui/login")
                raise ApiError(401, "login required")
            request[WEB_USER] = user
        response = await handler(request)
        if not response.prepared:
            for name, value in SECURITY_HEADERS.items():
                response.headers.setdefault(name, value)
        return response

    def _session(self, request: web.Request) -> Session | None:
        token = request.cookies.get(COOKIE)
        session = self.sessions.get(token) if token else None
        if session is None:
            return None
        if session.expires < self.clock():
            self.sessions.pop(token or "", None)
            return None
        return session

    def _user(self, request: web.Request) -> User | None:
        session = self._session(request)
        if session is not None:
            return session.user
        header = self.settings.trusted_header
        if header and request.remote in self.settings.trusted_proxies:
            name = request.headers.get(header, "").strip()
            return self.settings.users.get(name)
        return None

    def _csrf_token(self, request: web.Request) -> str:
        session = self._session(request)
        return session.csrf if session is not None else ""

    def _require_same_origin(self, request: web.Request) -> None:
        if not same_origin(
            request.headers.get("Origin"),
            request.headers.get("Referer"),
            request.host,
            request.scheme,
        ):
            log.warning("web.cross_site_refused", path=request.path, remote=request.remote)
            raise ApiError(403, "cross-site request refused")

    # --- login ---------------------------------------------------------------------------

    async def root(self, request: web.Request) -> web.StreamResponse:
        user = self._user(request)
        raise web.HTTPSeeOther(home(user) if user is not None else "/ui/login")

    async def login_form(self, request: web.Request) -> web.Response:
        return _html(login_page())

    async def login(self, request: web.Request) -> web.StreamResponse:
        self._require_same_origin(request)
        key = request.remote or "?"
        verdict = self.throttle.check(key, self.clock())
        if not verdict.allowed:
            log.warning("web.login_throttled", remote=key, blocked=verdict.blocked)
            text = "Zu viele Fehlversuche. Bitte später erneut versuchen."
            return _html(login_page(text), 429, {"Retry-After": str(verdict.retry_after_s)})
        form = await request.post()
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        # Counted as failed before the (slow) check: attempts sent in parallel cannot all
        # pass the throttle first. A success clears it again.
        self.throttle.failure(key, self.clock())
        user = await asyncio.to_thread(check_login, self.settings.users, name, password)
        if user is None:
            log.warning("web.login_failed", remote=key)
            return _html(login_page("Name oder Passwort falsch."), 401)
        self.throttle.success(key)
        now = self.clock()
        for stale in [t for t, x in self.sessions.items() if x.expires < now]:
            del self.sessions[stale]  # expired sessions go with the next login
        token = secrets.token_urlsafe(32)
        self.sessions[token] = Session(user, secrets.token_urlsafe(32), self.clock() + SESSION_S)
        log.info("web.login", user=user.name, role=user.role)
        response = _see_other(home(user))
        response.set_cookie(
            COOKIE, token, httponly=True, secure=True, samesite="Strict", path="/ui/"
        )
        return response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        self._require_same_origin(request)
        self._check_csrf(request, await request.post())
        self.sessions.pop(request.cookies.get(COOKIE, ""), None)
        response = _see_other("/ui/login")
        response.del_cookie(COOKIE, path="/ui/")
        return response

    def _check_csrf(self, request: web.Request, form: Mapping[str, Any]) -> None:
        given = request.headers.get("X-CSRF-Token") or form.get("csrf")
        session = self._session(request)
        if session is None:
            if self._user(request) is not None:  # the proxy's header: no token, Origin checked
                return
            raise ApiError(401, "login required")
        if not csrf_ok(given if isinstance(given, str) else None, session.csrf):
            raise ApiError(403, "missing or wrong CSRF token")

    # --- pages ---------------------------------------------------------------------------

    def _allow(self, request: web.Request, page: Page, agent: str | None = None) -> User:
        user = request[WEB_USER]
        if not may(user, page, agent):
            raise ApiError(403, "not allowed")
        return user

    async def wallboard(self, request: web.Request) -> web.Response:
        user = self._allow(request, "wallboard")
        return _html(wallboard_page(user.name, self._csrf_token(request)))

    async def agent(self, request: web.Request) -> web.Response:
        agent_id = request.match_info["id"]
        user = self._allow(request, "agent_screen", agent_id)
        if agent_id not in self.control.snapshot().agents:
            raise ApiError(404, "unknown agent")
        return _html(agent_page(agent_id, user, self._csrf_token(request)))

    async def static(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in STATIC:
            raise ApiError(404, "not found")
        body = resources.files("stadtruf.api").joinpath("static", name).read_bytes()
        return web.Response(body=body, content_type=STATIC[name], charset="utf-8")

    # --- pushed views --------------------------------------------------------------------

    async def wallboard_events(self, request: web.Request) -> web.StreamResponse:
        self._allow(request, "wallboard")
        return await self._stream(request, self.data.wallboard)

    async def agent_events(self, request: web.Request) -> web.StreamResponse:
        agent_id = request.match_info["id"]
        self._allow(request, "agent_screen", agent_id)
        if agent_id not in self.control.snapshot().agents:
            raise ApiError(404, "unknown agent")
        return await self._stream(request, lambda: self.data.agent(agent_id))

    async def _stream(self, request: web.Request, view: Callable[[], object]) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream; charset=utf-8",
                "Cache-Control": "no-store",
                "X-Accel-Buffering": "no",  # a reverse proxy must not hold the events back
            }
        )
        await response.prepare(request)
        last, last_sent = "", self.clock()
        try:
            while not self.stopping.is_set() and self._user(request) is not None:
                data = json.dumps(view(), ensure_ascii=False, sort_keys=True)
                if data != last:
                    await response.write(f"data: {data}\n\n".encode())
                    last, last_sent = data, self.clock()
                elif self.clock() - last_sent > KEEPALIVE_S:
                    await response.write(b": keepalive\n\n")
                    last_sent = self.clock()
                try:
                    await asyncio.wait_for(self.stopping.wait(), PUSH_EVERY_S)
                except TimeoutError:
                    pass
        except (ConnectionResetError, ConnectionError):
            pass  # the browser went away
        return response

    # --- actions -------------------------------------------------------------------------

    async def _transfer(self, agent_id: str, number: object) -> None:
        offices = self.data.offices(self.data.call_client(agent_id))
        if not isinstance(number, str) or not may_transfer(offices, number):
            raise ApiError(400, "number: not one of this client's offices")
        control = self.control
        if not isinstance(control, Transfers):
            raise ApiError(404, "transfers are not available")
        if not await control.transfer(agent_id, number):
            raise ApiError(409, "agent is not talking to a caller")

    async def act(self, request: web.Request) -> web.Response:
        agent_id, action = request.match_info["id"], request.match_info["action"]
        self._require_same_origin(request)
        body = await _body(request)
        self._check_csrf(request, body)
        user = self._allow(request, "agent_action", agent_id)
        agent = self.control.snapshot().agents.get(agent_id)
        if agent is None:
            raise ApiError(404, "unknown agent")
        if action == "ready":
            _need_login(agent.logged_in)
            await self.control.ready(agent_id)
        elif action == "pause":
            try:
                reason = pause_reason(body)
            except ValueError as exc:
                raise ApiError(400, str(exc)) from None
            _need_login(agent.logged_in)
            await self.control.pause(agent_id, reason)
        elif action == "logout":
            await self.control.logout(agent_id)
        elif action == "login":
            await self.control.login(agent_id)
        elif action == "transfer":
            await self._transfer(agent_id, body.get("number"))
        else:
            raise ApiError(404, "unknown action")
        log.info("web.agent_action", agent=agent_id, action=action, by=user.name)
        return web.json_response(self.data.agent(agent_id), headers=SECURITY_HEADERS)


@runtime_checkable
class Transfers(Protocol):
    async def transfer(self, agent: str, number: str) -> bool: ...


def _see_other(location: str) -> web.Response:
    # Returned, not raised: the error middleware would rebuild a raised one without cookies.
    return web.Response(status=303, headers={"Location": location, **SECURITY_HEADERS})


def _need_login(logged_in: bool) -> None:
    if not logged_in:
        raise ApiError(409, "agent is not logged in")


async def _body(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ApiError(400, "expected a JSON object")
        return body
    return dict(await request.post())


def _html(text: str, status: int = 200, headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(
        text=text,
        status=status,
        content_type="text/html",
        charset="utf-8",
        headers={**SECURITY_HEADERS, **(headers or {})},
    )
