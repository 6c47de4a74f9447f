"""The agent state API: JSON over HTTP for agents' screens, the wallboard and supervisors.

Routes (all JSON, all authenticated):

    GET  /agents                 every agent (supervisor)
    GET  /agents/{id}            one agent (supervisor, or that agent)
    GET  /queues                 every queue's line and staffing (anyone authenticated)
    GET  /callbacks?status=open  callback requests and voicemails in working order (anyone
                                 authenticated); a voicemail has `recording`, `recording_s`
    GET  /callbacks/{id}/recording  the voicemail's audio (audio/wav)
    POST /agents/{id}/login      \
    POST /agents/{id}/logout      | change the agent's state (supervisor, or that agent);
    POST /agents/{id}/pause       | pause takes {"reason": "..."}; answer: the agent's view
    POST /agents/{id}/ready      /
    POST /callbacks/{id}/done    close a callback request (anyone authenticated)

Who may call: the supervisor token (`Authorization: Bearer …`, from `STADTRUF_API_TOKEN`) may
do everything; an agent authenticates with HTTP Basic, user = agent id, password = their SIP
password, and may read and change only their own state, read the queues and work the
callback list. With neither a token nor any agent password configured, every request is
refused: the API is never open by accident.

Errors are `{"error": "..."}` with 400 (bad input), 401, 403, 404 (unknown id), 409 (the
state does not allow it, e.g. a pause while logged out), 500 (our fault; details only in the
log). The queue itself is behind `QueueControl`, which the ARI adapter implements.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import ipaddress
import ssl
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, cast

import structlog
from aiohttp import web

from stadtruf.core.queue import AUTOPAUSE, AgentState, QueueState
from stadtruf.core.wallboard import agent_view, agent_views, queue_views
from stadtruf.store.callbacks import STATUSES, CallbackStore, Status, UnknownCallback

log = structlog.get_logger(__name__)

TOKEN_ENV = "STADTRUF_API_TOKEN"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8480  # clear of Asterisk's HTTP/ARI (8088) and HTTPS (8089) ports
MAX_REASON = 40
# Requests carry at most a pause reason; anything bigger is not ours.
MAX_BODY = 4096

Clock = Callable[[], float]


class QueueControl(Protocol):
    """What the API needs from the queue; the ARI queue adapter implements it."""

    def snapshot(self) -> QueueState:
        """The engine state right now."""
        ...

    async def login(self, agent: str) -> None: ...

    async def logout(self, agent: str) -> None: ...

    async def pause(self, agent: str, reason: str) -> None: ...

    async def ready(self, agent: str) -> None: ...

    async def voicemail_audio(self, recording: str) -> bytes | None:
        """The stored recording `recording` (WAV), None if Asterisk has no such file."""
        ...


# --- Authentication and permissions (pure) ------------------------------------------------------


@dataclass(frozen=True)
class Principal:
    """Who is asking: an agent (by id) or, with `agent=None`, the supervisor token."""

    agent: str | None = None

    @property
    def is_supervisor(self) -> bool:
        return self.agent is None

    @property
    def who(self) -> str:
        """For logs: the agent id, or `supervisor:token` (no agent id can contain a colon)."""
        return self.agent if self.agent is not None else "supervisor:token"


SUPERVISOR = Principal()


@dataclass(frozen=True)
class ApiAuth:
    """The credentials the API accepts. Secrets stay out of `repr` (and so out of logs).

    `passwords` maps agent id → SIP password; the caller resolves them with
    `stadtruf.config.agents.resolve_password`. Empty values count as not configured.
    """

    token: str | None = field(default=None, repr=False)
    passwords: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        # Normalised once, so an empty env variable or password can never match an empty one.
        object.__setattr__(self, "token", self.token or None)
        object.__setattr__(self, "passwords", {a: p for a, p in self.passwords.items() if p})

    @classmethod
    def from_env(cls, environ: Mapping[str, str], passwords: Mapping[str, str]) -> ApiAuth:
        return cls(environ.get(TOKEN_ENV) or None, passwords)

    @property
    def enabled(self) -> bool:
        return self.token is not None or bool(self.passwords)

    def authenticate(self, header: str | None) -> Principal | None:
        """The principal an `Authorization` header proves; None if it proves nothing."""
        scheme, _, credentials = (header or "").strip().partition(" ")
        credentials = credentials.strip()
        scheme = scheme.lower()  # RFC 9110: auth schemes are case-insensitive
        if scheme == "bearer" and self.token is not None:
            return SUPERVISOR if _same(credentials, self.token) else None
        if scheme == "basic" and self.passwords:
            pair = _basic_credentials(credentials)
            if pair is None:
                return None
            user, password = pair
            # Compare even for an unknown user, so the answer time does not tell which ids exist.
            expected = self.passwords.get(user)
            matches = _same(password, expected if expected is not None else "\0unknown")
            return Principal(user) if matches and expected is not None else None
        return None


def _same(given: str, expected: str) -> bool:
    # compare_digest on str only takes ASCII; as UTF-8 bytes any password works.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _basic_credentials(encoded: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


Action = Literal[
    "list_agents",
    "read_agent",
    "change_agent",
    "read_queues",
    "read_callbacks",
    "close_callback",
]


def permitted(principal: Principal, action: Action, agent: str | None = None) -> bool:
    """Whether `principal` may do `action` (on `agent`, for the per-agent actions)."""
    if principal.is_supervisor:
        return True
    if action in ("read_agent", "change_agent"):
        return agent == principal.agent
    # Agents work the callback list themselves; the full agent list is the supervisor's.
    return action in ("read_queues", "read_callbacks", "close_callback")


def pause_reason(body: object) -> str:
    """The pause reason from a request body; ValueError with a message for the client."""
    if not isinstance(body, dict) or "reason" not in body:
        raise ValueError('expected {"reason": "..."}')
    reason = body["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError("reason must be a non-empty string")
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise ValueError(f"reason is longer than {MAX_REASON} characters")
    # Printable only: the reason ends up in log lines and on other people's screens.
    if not reason.isprintable():
        raise ValueError("reason contains control or invisible characters")
    if reason == AUTOPAUSE:
        raise ValueError(f"'{AUTOPAUSE}' is set by the queue itself")
    return reason


# --- HTTP ---------------------------------------------------------------------------------------


class ApiError(Exception):
    """An answer other than 200, with a message safe to show the client."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.extra = dict(extra or {})
        self.headers = dict(headers or {})


PRINCIPAL = web.RequestKey("principal", Principal)
CHALLENGE = 'Bearer realm="stadtruf", Basic realm="stadtruf", charset="UTF-8"'

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Middleware = Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every error as JSON; never a traceback to the client."""
    try:
        return await handler(request)
    except ApiError as exc:
        return web.json_response(
            {"error": exc.message, **exc.extra}, status=exc.status, headers=exc.headers
        )
    except web.HTTPException as exc:
        # aiohttp's own 404/405/413: keep the status and headers such as Allow, answer JSON.
        headers = {k: v for k, v in exc.headers.items() if k.lower() not in _BODY_HEADERS}
        return web.json_response({"error": exc.reason.lower()}, status=exc.status, headers=headers)
    except Exception:
        log.exception("api.error", method=request.method, path=request.path)
        return web.json_response({"error": "internal error"}, status=500)


_BODY_HEADERS = frozenset({"content-type", "content-length"})


def _auth_middleware(auth: ApiAuth) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization")
        principal = auth.authenticate(header)
        if principal is None:
            # No credentials values in the log: a password typed into the user field would
            # end up there.
            log.warning(
                "api.unauthorized",
                method=request.method,
                path=request.path,
                remote=request.remote,
                had_credentials=header is not None,
            )
            raise ApiError(401, "authentication required", headers={"WWW-Authenticate": CHALLENGE})
        request[PRINCIPAL] = principal
        return await handler(request)

    return authenticate


class _Routes:
    """The handlers; state lives in the queue behind `control` and in the callback store."""

    def __init__(
        self, control: QueueControl, callbacks: CallbackStore | None, clock: Clock
    ) -> None:
        self.control = control
        self.callbacks = callbacks
        self.clock = clock

    # --- reading ---

    async def list_agents(self, request: web.Request) -> web.Response:
        self._require(request, "list_agents")
        return web.json_response({"agents": agent_views(self.control.snapshot(), self.clock())})

    async def get_agent(self, request: web.Request) -> web.Response:
        agent_id = request.match_info["id"]
        self._require(request, "read_agent", agent_id)
        return web.json_response(self._agent(self.control.snapshot(), agent_id))

    async def list_queues(self, request: web.Request) -> web.Response:
        self._require(request, "read_queues")
        return web.json_response({"queues": queue_views(self.control.snapshot(), self.clock())})

    async def list_callbacks(self, request: web.Request) -> web.Response:
        self._require(request, "read_callbacks")
        store = self._store()
        status = request.query.get("status")
        if status is not None and status not in STATUSES:
            raise ApiError(400, f"status must be one of {', '.join(STATUSES)}")
        # File reads and fsyncs block: off the event loop, which also carries the calls.
        requests = await asyncio.to_thread(store.list, cast(Status | None, status))
        return web.json_response({"callbacks": [r.to_json() for r in requests]})

    async def get_recording(self, request: web.Request) -> web.StreamResponse:
        self._require(request, "read_callbacks")
        store = self._store()
        record = await asyncio.to_thread(store.get, request.match_info["id"])
        if record is None:
            raise ApiError(404, "unknown callback")
        if record.recording is None:
            raise ApiError(404, "this callback request has no voicemail")
        audio = await self.control.voicemail_audio(record.recording)
        if audio is None:
            raise ApiError(404, "the recording is no longer stored")
        return web.Response(
            body=audio,
            content_type="audio/wav",
            headers={"Content-Disposition": f'inline; filename="{record.recording}.wav"'},
        )

    # --- changing ---

    async def login(self, request: web.Request) -> web.Response:
        agent_id, before = self._target(request)
        await self.control.login(agent_id)
        return self._changed(request, "login", before)

    async def logout(self, request: web.Request) -> web.Response:
        agent_id, before = self._target(request)
        await self.control.logout(agent_id)
        return self._changed(request, "logout", before)

    async def pause(self, request: web.Request) -> web.Response:
        agent_id, before = self._target(request)
        try:
            reason = pause_reason(await _json_body(request))
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        _need_login(before)
        await self.control.pause(agent_id, reason)
        return self._changed(request, "pause", before, reason)

    async def ready(self, request: web.Request) -> web.Response:
        agent_id, before = self._target(request)
        _need_login(before)
        await self.control.ready(agent_id)
        return self._changed(request, "ready", before)

    async def close_callback(self, request: web.Request) -> web.Response:
        self._require(request, "close_callback")
        store = self._store()
        principal = request[PRINCIPAL]
        callback_id = request.match_info["id"]
        done_by = principal.agent
        if principal.is_supervisor and request.body_exists:
            # A supervisor may record which agent did the call-back.
            body = await _json_body(request)
            if not isinstance(body, dict):
                raise ApiError(400, 'expected {"agent": "..."} or no body')
            done_by = body.get("agent")
            if done_by is not None and (
                not isinstance(done_by, str) or done_by not in self.control.snapshot().agents
            ):
                raise ApiError(400, "agent: unknown agent id")
        try:
            closed = await asyncio.to_thread(store.mark_done, callback_id, done_by)
        except UnknownCallback:
            raise ApiError(404, "unknown callback") from None
        if closed.done_by != done_by:
            # Two people worked the same request; the second must learn before calling twice.
            raise ApiError(
                409, "callback already done by someone else", extra={"callback": closed.to_json()}
            )
        log.info("api.callback_done", callback=callback_id, done_by=done_by, by=principal.who)
        return web.json_response(closed.to_json())

    # --- helpers ---

    def _target(self, request: web.Request) -> tuple[str, AgentState]:
        """The agent a change is for, after the permission check; 404 if unknown.

        Checked before the adapter is called: it is only ever asked about known agents.
        """
        agent_id = request.match_info["id"]
        self._require(request, "change_agent", agent_id)
        agent = self.control.snapshot().agents.get(agent_id)
        if agent is None:
            raise ApiError(404, "unknown agent")
        return agent_id, agent

    def _changed(
        self, request: web.Request, action: str, before: AgentState, reason: str | None = None
    ) -> web.Response:
        view = self._agent(self.control.snapshot(), before.id)
        log.info(
            "agent.state_changed",
            agent=before.id,
            action=action,
            reason=reason,
            before=before.status,
            after=view["status"],
            by=request[PRINCIPAL].who,
        )
        return web.json_response(view)

    def _agent(self, state: QueueState, agent_id: str) -> dict[str, Any]:
        agent = state.agents.get(agent_id)
        if agent is None:
            raise ApiError(404, "unknown agent")
        return agent_view(state, agent, self.clock())

    def _require(self, request: web.Request, action: Action, agent: str | None = None) -> None:
        if not permitted(request[PRINCIPAL], action, agent):
            raise ApiError(403, "not allowed")

    def _store(self) -> CallbackStore:
        if self.callbacks is None:
            raise ApiError(404, "callbacks are not enabled")
        return self.callbacks


def _need_login(agent: AgentState) -> None:
    # The engine would ignore it; say so instead of answering 200 with nothing changed.
    if not agent.logged_in:
        raise ApiError(409, "agent is not logged in")


async def _json_body(request: web.Request) -> object:
    try:
        return await request.json()
    except ValueError:  # JSONDecodeError and undecodable bytes alike
        raise ApiError(400, "body is not valid JSON") from None


def make_api(
    control: QueueControl,
    auth: ApiAuth,
    callbacks: CallbackStore | None,
    clock: Clock,
) -> web.Application:
    """The API as an aiohttp application. `clock` reads the clock of the engine's `now`.

    `callbacks=None`: the callback routes answer 404.
    """
    if not auth.enabled:
        log.warning("api.no_credentials", hint=f"set {TOKEN_ENV} or agent passwords")
    app = web.Application(middlewares=[_errors, _auth_middleware(auth)], client_max_size=MAX_BODY)
    routes = _Routes(control, callbacks, clock)
    app.router.add_get("/agents", routes.list_agents)
    app.router.add_get("/agents/{id}", routes.get_agent)
    app.router.add_post("/agents/{id}/login", routes.login)
    app.router.add_post("/agents/{id}/logout", routes.logout)
    app.router.add_post("/agents/{id}/pause", routes.pause)
    app.router.add_post("/agents/{id}/ready", routes.ready)
    app.router.add_get("/queues", routes.list_queues)
    app.router.add_get("/callbacks", routes.list_callbacks)
    app.router.add_get("/callbacks/{id}/recording", routes.get_recording)
    app.router.add_post("/callbacks/{id}/done", routes.close_callback)
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class ApiServer:
    """Serves an app made by `make_api` until `close`."""

    def __init__(self, app: web.Application) -> None:
        self.app = app
        self._runner: web.AppRunner | None = None

    async def start(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """Listen on `host:port` (port 0: any free port, see `port`)."""
        if not host:
            # aiohttp would bind every interface for an empty host; that must be said outright.
            raise ValueError("host is empty; name the address to listen on (e.g. 127.0.0.1)")
        if self._runner is not None:
            raise RuntimeError("already started")
        if not is_loopback(host) and ssl_context is None:
            log.warning("api.exposed_without_tls", host=host, port=port)
        runner = web.AppRunner(self.app)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        log.info("api.listening", host=host, port=self.port, tls=ssl_context is not None)

    @property
    def port(self) -> int | None:
        """The port listened on (useful after `start(port=0)`); None when not running."""
        if self._runner is None or not self._runner.addresses:
            return None
        return int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()
