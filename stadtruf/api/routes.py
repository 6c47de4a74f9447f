"""The agent state API's handlers: read agents, queues and callbacks, change an agent's state.

Each handler checks the permission first (`stadtruf.api.auth.permitted`), then asks the queue
behind `QueueControl` or the callback store. Errors are raised as `ApiError`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Protocol, cast

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from stadtruf.api.auth import Action, Principal, permitted
from stadtruf.api.errors import ApiError
from stadtruf.core.queue import AUTOPAUSE, AgentState, QueueState
from stadtruf.core.wallboard import agent_view, agent_views, queue_views
from stadtruf.store.callbacks import STATUSES, CallbackStore, Status, UnknownCallback

log = structlog.get_logger(__name__)

MAX_REASON = 40

Clock = Callable[[], float]
# Set by the authentication middleware, read by every handler.
PRINCIPAL = web.RequestKey("principal", Principal)


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


class Routes:
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

    def guarded(self, action: Action, handler: Handler) -> Handler:
        """`handler` behind the permission check of `action` (for routes defined elsewhere)."""

        async def checked(request: web.Request) -> web.StreamResponse:
            self._require(request, action)
            return await handler(request)

        return checked

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
