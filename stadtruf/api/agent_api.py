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
    GET  /service-level          today's service level per client (anyone authenticated)
    GET  /metrics                Prometheus text (supervisor token or STADTRUF_METRICS_TOKEN)

The web UI (`stadtruf.api.web`) is served under /ui/ by the same server, with its own login.

Bad credentials in a loop (Basic, Bearer or the web login, counted per client address) are
first slowed down, then blocked for a while: 429 with Retry-After (`stadtruf.core.lockout`).
A request body is at most MAX_BODY bytes (413). Outside loopback the server listens only with
TLS.

Who may call: the supervisor token (`Authorization: Bearer …`, from `STADTRUF_API_TOKEN`) may
do everything; an agent authenticates with HTTP Basic, user = agent id, password = their SIP
password, and may read and change only their own state, read the queues and work the
callback list. `STADTRUF_METRICS_TOKEN` (Bearer, for Prometheus) may read `/metrics` and
nothing else. With no token and no agent password configured, every request is refused: the
API is never open by accident, not even `/metrics` on loopback.

Errors are `{"error": "..."}` with 400 (bad input), 401, 403, 404 (unknown id), 409 (the
state does not allow it, e.g. a pause while logged out), 500 (our fault; details only in the
log). The queue itself is behind `QueueControl`, which the ARI adapter implements.
"""

from __future__ import annotations

import ipaddress
import ssl
import time

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from stadtruf.api.auth import TOKEN_ENV, ApiAuth
from stadtruf.api.errors import ApiError
from stadtruf.api.metrics import FigureRoutes, LiveFigures
from stadtruf.api.routes import PRINCIPAL, Clock, QueueControl, Routes
from stadtruf.api.web import WebUi
from stadtruf.core.lockout import Throttle
from stadtruf.store.callbacks import CallbackStore

log = structlog.get_logger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8480  # clear of Asterisk's HTTP/ARI (8088) and HTTPS (8089) ports
# Requests carry at most a pause reason; anything bigger is not ours.
MAX_BODY = 4096

CHALLENGE = 'Bearer realm="stadtruf", Basic realm="stadtruf", charset="UTF-8"'


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


def _auth_middleware(auth: ApiAuth, throttle: Throttle, web_ui: WebUi | None) -> Middleware:
    @web.middleware
    async def authenticate(request: web.Request, handler: Handler) -> web.StreamResponse:
        if web_ui is not None and web_ui.is_web_path(request.path):
            return await handler(request)  # the web UI's sessions (`WebUi.middleware`)
        header = request.headers.get("Authorization")
        key = request.remote or "?"
        verdict = throttle.check(key, time.monotonic())
        if not verdict.allowed:
            log.warning("api.throttled", remote=key, blocked=verdict.blocked, path=request.path)
            raise ApiError(
                429,
                "too many failed attempts, try again later",
                headers={"Retry-After": str(verdict.retry_after_s)},
            )
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
            if header is not None:
                throttle.failure(key, time.monotonic())
            raise ApiError(401, "authentication required", headers={"WWW-Authenticate": CHALLENGE})
        throttle.success(key)
        request[PRINCIPAL] = principal
        return await handler(request)

    return authenticate


def make_api(
    control: QueueControl,
    auth: ApiAuth,
    callbacks: CallbackStore | None,
    clock: Clock,
    figures: LiveFigures | None = None,
    *,
    throttle: Throttle | None = None,
    web_ui: WebUi | None = None,
) -> web.Application:
    """The API as an aiohttp application. `clock` reads the clock of the engine's `now`.

    `callbacks=None`: the callback routes answer 404; `figures=None`: no /metrics and
    /service-level; `web_ui`: the web UI under /ui/ (sharing `throttle`, the lockout of bad
    credentials, with the API's authentication).
    """
    if not auth.enabled and web_ui is None:
        log.warning("api.no_credentials", hint=f"set {TOKEN_ENV} or agent passwords")
    throttle = throttle if throttle is not None else Throttle()
    middlewares: list[Middleware] = [_errors]
    if web_ui is not None:
        middlewares.append(web_ui.middleware)
    middlewares.append(_auth_middleware(auth, throttle, web_ui))
    app = web.Application(middlewares=middlewares, client_max_size=MAX_BODY)
    routes = Routes(control, callbacks, clock)
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
    if web_ui is not None:
        web_ui.add_to(app)
    if figures is not None:
        live = FigureRoutes(figures, control.snapshot, clock)
        app.router.add_get("/metrics", routes.guarded("read_metrics", live.metrics))
        app.router.add_get("/service-level", routes.guarded("read_queues", live.service_level))
    return app


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class InsecureListen(ValueError):
    """A non-loopback address without TLS."""


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
            # Passwords and session cookies in clear text on the network: refused outright.
            raise InsecureListen(
                f"{host} ist keine Loopback-Adresse: die API dort nur mit TLS "
                "(api: tls_certificate/tls_key in service-center.yaml)"
            )
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
