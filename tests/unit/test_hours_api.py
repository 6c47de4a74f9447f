"""The API's opening-hours overrides: supervisor only, the same rules as `stadtruf hours`."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import aiohttp

from stadtruf.api.agent_api import make_api
from stadtruf.api.hours_routes import add_hours_routes
from stadtruf.core.hours import BERLIN
from stadtruf.store.overrides import OverrideStore
from tests.unit.conftest import serve_on_loopback
from tests.unit.test_agent_api import AUTH, SUPERVISOR_AUTH, Clock, FakeControl, basic

NOW = datetime(2026, 6, 3, 11, 0, tzinfo=BERLIN).timestamp()
AGENT = {"Authorization": basic("agent-101", "Sip-Anna-4711")}


async def test_overrides_through_the_api(session: aiohttp.ClientSession, tmp_path: Path) -> None:
    clock = Clock()
    app = make_api(FakeControl(clock), AUTH, None, clock)
    store = OverrideStore(tmp_path / "o.json", lambda: NOW)
    add_hours_routes(app, store, lambda: NOW)
    async with serve_on_loopback(app) as url:
        base = url.removesuffix("/ari") + "/hours/overrides"
        body = {"from": "12:00", "until": "14:00", "client": "bottrop", "reason": "Besprechung"}
        async with session.post(base, json=body, headers=AGENT) as response:
            assert response.status == 403  # agents may not close the line
        async with session.post(base, json=body, headers=SUPERVISOR_AUTH) as response:
            assert response.status == 201
            stored = await response.json()
        assert stored["client"] == "bottrop" and stored["state"] == "closed"
        assert datetime.fromisoformat(stored["start"]) == datetime(2026, 6, 3, 12, tzinfo=BERLIN)
        assert [o.id for o in store.all()] == [stored["id"]]
        async with session.get(base, headers=SUPERVISOR_AUTH) as response:
            assert [o["id"] for o in await response.json()] == [stored["id"]]
        bad = {"until": "10:00"}  # before now
        async with session.post(base, json=bad, headers=SUPERVISOR_AUTH) as response:
            assert response.status == 400
            assert "nicht nach dem Beginn" in (await response.text())
        async with session.delete(f"{base}/{stored['id']}", headers=SUPERVISOR_AUTH) as r:
            assert r.status == 204
        async with session.delete(f"{base}/{stored['id']}", headers=SUPERVISOR_AUTH) as r:
            assert r.status == 404
        assert store.all() == ()
