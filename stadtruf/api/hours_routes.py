"""The agent API's opening-hours overrides (supervisor only): the same as `stadtruf hours`.

    GET    /hours/overrides        the overrides not expired yet
    POST   /hours/overrides        {"until": "14:00", "from": "12:00", "client": "bottrop",
                                    "topic": null, "reason": "Dienstbesprechung",
                                    "state": "closed"}   → 201 with the stored override
    DELETE /hours/overrides/{id}   → 204; 404 if there is none

Times as in the CLI: HH:MM today (Berlin) or an ISO date and time. The running app reads the
store for every new call.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime

from aiohttp import web

from stadtruf.api.errors import ApiError
from stadtruf.api.routes import PRINCIPAL
from stadtruf.core.closed import new_override
from stadtruf.store.overrides import OverrideStore


def add_hours_routes(
    app: web.Application, store: OverrideStore, clock: Callable[[], float] = time.time
) -> None:
    routes = HoursRoutes(store, clock)
    app.router.add_get("/hours/overrides", routes.list)
    app.router.add_post("/hours/overrides", routes.add)
    app.router.add_delete("/hours/overrides/{id}", routes.remove)


class HoursRoutes:
    def __init__(self, store: OverrideStore, clock: Callable[[], float]) -> None:
        self.store = store
        self.clock = clock

    @staticmethod
    def _require_supervisor(request: web.Request) -> None:
        if not request[PRINCIPAL].is_supervisor:
            raise ApiError(403, "not allowed")

    async def list(self, request: web.Request) -> web.Response:
        self._require_supervisor(request)
        overrides = await asyncio.to_thread(self.store.all)
        return web.json_response([o.to_dict() for o in overrides])

    async def add(self, request: web.Request) -> web.Response:
        self._require_supervisor(request)
        try:
            body = await request.json()
        except ValueError:
            raise ApiError(400, "expected a JSON body") from None
        if not isinstance(body, dict) or not isinstance(body.get("until"), str):
            raise ApiError(400, 'expected {"until": "HH:MM", ...}')
        fields = {k: body.get(k) for k in ("from", "client", "topic", "reason")}
        if any(v is not None and not isinstance(v, str) for v in fields.values()):
            raise ApiError(400, "from, client, topic and reason must be strings")
        state = body.get("state", "closed")
        if state not in ("closed", "open"):
            raise ApiError(400, "state must be 'closed' or 'open'")
        try:
            override = new_override(
                datetime.fromtimestamp(self.clock(), UTC),
                body["until"],
                start=fields["from"],
                client=fields["client"],
                topic=fields["topic"],
                reason=fields["reason"] or "",
                state="open" if state == "open" else "closed",
            )
        except ValueError as exc:
            raise ApiError(400, str(exc)) from None
        stored = await asyncio.to_thread(self.store.add, override)
        return web.json_response(stored.to_dict(), status=201)

    async def remove(self, request: web.Request) -> web.Response:
        self._require_supervisor(request)
        if not await asyncio.to_thread(self.store.remove, request.match_info["id"]):
            raise ApiError(404, "no such override")
        return web.Response(status=204)
