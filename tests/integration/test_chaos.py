"""Issue #12 over real SIP: 30 calls spread over menus, queue and conversations go on through a
killed app (SIGKILL), a restart in place (`stadtruf restart`), a cut event stream and a
restarted Asterisk, and every call's record ends with a defined outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from ari_app.errors import AriError
from ari_app.port import Ari
from stadtruf.api.agent_api import DEFAULT_PORT
from stadtruf.config.agents import AgentsConfig
from stadtruf.testcall import TestCarrier
from tests.integration.chaos import (
    WAITING_TOPIC,
    AriProxy,
    Caller,
    ServedApp,
    all_of,
    arrive,
    bottrop_prompt,
    conversations,
    new_conversations,
    served,
    snapshot_of,
    to_menu,
    to_queue,
)
from tests.integration.conftest import TEST_AGENTS, TEST_QUEUES, Site
from tests.integration.phones import Phones
from tests.integration.support import (
    Observer,
    agents_online,
    eventually,
    playback,
    wait_until_idle,
)
from tests.integration.test_queue import talking
from tests.support.addresses import address_in_test_net

TALKING, WAITING, IN_MENU = 3, 17, 10  # 30 calls; three agents, so three conversations
CHAOS_S = 150  # the whole test, on a loaded two-core machine
PROXY_HOST = 71  # the ARI relay of the cut test, in the test net (tests/support/addresses.py)
API_HOST = 72  # the agent state API of the restart test
REGISTERED_S = 20  # the agents' phones online again after an Asterisk restart
GAP_S = 3.0  # how long the event stream stays cut: events of the gap are lost

# Nobody leaves the queue by itself during the test: no overflow, no announcements.
CHAOS_QUEUES = AgentsConfig.model_validate(
    TEST_QUEUES.model_dump(mode="json", exclude_none=True)
    | {
        "queues": {
            WAITING_TOPIC: {
                "max_wait": 3600,
                "overflow": {"announce": "Bitte rufen Sie später wieder an."},
            }
        }
    }
)


def numbers(first: int, count: int) -> list[str]:
    return [f"0204155{n:04d}" for n in range(first, first + count)]


Disruption = Callable[[ServedApp, "Thirty"], Awaitable[None]]


@dataclass
class Thirty:
    talkers: list[Caller]
    waiting: list[Caller]
    menus: list[Caller]
    queued_at: dict[str, float]  # waiting caller → first queued, as the channel keeps it
    bridges: dict[str, list[str]]  # the conversations

    @property
    def everyone(self) -> list[Caller]:
        return [*self.talkers, *self.waiting, *self.menus]


async def place_thirty(
    site: Site, carrier: TestCarrier, observer: Observer, phones: Phones
) -> Thirty:
    """3 conversations, 17 waiting, 10 in Bottrop's kfz menu."""
    phones.behaviour.update(dict.fromkeys(TEST_AGENTS, "answer"))
    kfz = bottrop_prompt(site, "kfz")
    # Three conversations, one after the other (each takes the next free agent).
    talkers: list[Caller] = []
    for number in numbers(7000, TALKING):
        since = observer.mark()
        caller = await arrive(carrier, observer, number)
        await to_queue(observer, caller)
        await talking(observer, since)
        talkers.append(caller)
    # Seventeen waiting (all agents busy), ten in the kfz menu: all at once.
    waiting = await all_of(arrive(carrier, observer, n) for n in numbers(7100, WAITING))
    menus = await all_of(arrive(carrier, observer, n) for n in numbers(7200, IN_MENU))
    await all_of(to_queue(observer, c) for c in waiting)
    await all_of(to_menu(observer, c, "2", kfz) for c in menus)
    queued_at: dict[str, float] = {}
    for caller in waiting:
        snap = await snapshot_of(observer, caller.channel)
        assert snap is not None and snap.stage == "queue" and snap.queued_at, snap
        queued_at[caller.channel] = snap.queued_at
    bridges = await conversations(observer)
    assert len(bridges) == TALKING and all(len(m) == 2 for m in bridges.values())
    await asyncio.sleep(1)  # the records of the last moment written
    return Thirty(talkers, waiting, menus, queued_at, bridges)


async def thirty_calls(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    app: ServedApp,
    disrupt: Disruption,
) -> None:
    """The thirty calls; `disrupt`; then every call goes on: the menu plays again and leads
    back, the conversations stay, the first three waiting get the agents as the talkers hang
    up; everyone hangs up; every record is complete."""
    main, kfz = bottrop_prompt(site, "main"), bottrop_prompt(site, "kfz")
    thirty = await place_thirty(site, carrier, observer, phones)
    talkers, waiting, menus = thirty.talkers, thirty.waiting, thirty.menus
    queued_at, bridges = thirty.queued_at, thirty.bridges

    since = observer.mark()
    await disrupt(app, thirty)

    # In the menu: the kfz menu again (no greeting), and "*" still leads back to main.
    await all_of(
        observer.wait_for(playback(c.channel, kfz), since=since, timeout=30) for c in menus
    )
    await all_of(to_menu(observer, c, "*", main) for c in menus)
    # Talking: still bridged, nobody cut off.
    assert await conversations(observer) == bridges
    # Waiting: the three who came first get the three agents as the talkers hang up.
    first = sorted(waiting, key=lambda c: queued_at[c.channel])[:TALKING]
    for caller in talkers:
        await caller.call.hangup()
    assert await new_conversations(observer, bridges, TALKING) == {c.channel for c in first}
    # Everyone hangs up: first those still waiting (a free agent would ring the next one the
    # app still has in line, so the app must be done with them before an agent is free).
    rest = [c for c in waiting if c not in first]
    for group in (rest, first, menus):
        for caller in group:
            if not caller.call.ended.is_set():  # the cut test hangs one up in the gap
                await caller.call.hangup()
        for caller in group:
            await caller.call.wait_ended(timeout=20)
        if group is rest:
            await app.queue_done_with(c.channel for c in rest)
    await app_is_done(observer, app)
    outcomes = app.outcomes()
    expected = {c.channel: "answered" for c in (*talkers, *first)}
    expected |= {c.channel: "abandoned_queue" for c in rest}
    expected |= {c.channel: "abandoned_menu" for c in menus}
    assert {c: o for c, (o, _) in outcomes.items()} == expected
    paths = [path for c, (_, path) in outcomes.items() if expected[c] == "abandoned_menu"]
    assert all("kfz" in path for path in paths), paths


async def killed_and_restarted(app: ServedApp, thirty: Thirty) -> None:
    await app.kill()
    await app.start()
    # Every waiting caller back in line before an agent gets free.
    await app.logged('"again": true', timeout=30, count=WAITING)


async def test_calls_go_on_through_a_killed_app_and_their_records_are_complete(
    site: Site, carrier: TestCarrier, observer: Observer, phones: Phones, tmp_path: Path
) -> None:
    async with asyncio.timeout(CHAOS_S), served(site, tmp_path, CHAOS_QUEUES) as app:
        await thirty_calls(site, carrier, observer, phones, app, killed_and_restarted)


async def agents_seen_by_the_api(app: ServedApp) -> set[str]:
    url = f"http://{app.api_host}:{DEFAULT_PORT}/agents"
    async with aiohttp.ClientSession() as session:
        auth = {"Authorization": f"Bearer {app.api_token}"}
        async with session.get(url, headers=auth) as response:
            assert response.status == 200
            return {str(a["id"]) for a in (await response.json())["agents"]}


async def restarted_in_place(app: ServedApp, thirty: Thirty) -> None:
    """`stadtruf restart`: the process hands the calls over and executes itself anew."""
    assert app.process is not None
    pid = app.process.pid
    agents = await agents_seen_by_the_api(app)
    # A broken config is refused before anything is let go: the service goes on as it was.
    client = app.config_dir / "bottrop.yaml"
    good = client.read_text()
    client.write_text(good.replace("menu:", "menu: [", 1))
    status, output = await app.restart_command()
    assert status == 1 and "Neustart abgelehnt" in output and "bottrop.yaml" in output, output
    assert "app.restarting" not in app.log(app.starts).read_text()
    client.write_text(good)
    since = await app.restart()
    # Every waiting caller back in line before an agent gets free.
    await app.logged('"again": true', timeout=30, count=WAITING, after=since)
    assert app.process.returncode is None and app.process.pid == pid
    assert (app.directory / "stadtruf.pid").read_text().strip() == str(pid)
    log = app.log(app.starts).read_text()
    # Nothing handed back to the dialplan or hung up: 33 channels left to the successor.
    assert f'"channels": {2 * TALKING + WAITING + IN_MENU}' in log
    assert "app.calls_handed_back" not in log and "call.handler_failed" not in log
    assert log[since:].count("call.adopted_after_reconnect") == 2 * TALKING + WAITING + IN_MENU
    # The API server closed with the old program: the new one listens on the same port.
    assert await agents_seen_by_the_api(app) == agents


async def test_calls_go_on_through_a_restart_in_place_and_their_records_are_complete(
    site: Site, carrier: TestCarrier, observer: Observer, phones: Phones, tmp_path: Path
) -> None:
    api = address_in_test_net(API_HOST)
    async with asyncio.timeout(CHAOS_S), served(site, tmp_path, CHAOS_QUEUES, api_host=api) as app:
        await thirty_calls(site, carrier, observer, phones, app, restarted_in_place)


async def test_calls_go_on_through_a_cut_event_stream_and_their_records_are_complete(
    site: Site, carrier: TestCarrier, observer: Observer, phones: Phones, tmp_path: Path
) -> None:
    center = site.center.settings
    proxy = AriProxy(address_in_test_net(PROXY_HOST), center.bind_address, center.http_port)
    await proxy.start()

    async def cut(app: ServedApp, thirty: Thirty) -> None:
        # The caller who came last hangs up in the gap: the app never hears of it, and must
        # find out after the reconnect (its record, its place in line).
        last = max(thirty.waiting, key=lambda c: thirty.queued_at[c.channel])
        proxy.cut(GAP_S)
        await last.call.hangup()
        await last.call.wait_ended(timeout=10)
        await app.logged("ari.stream.connected", timeout=30, count=2)
        await app.logged("call.gone_while_disconnected", timeout=10)
        await app.queue_done_with([last.channel])

    try:
        async with asyncio.timeout(CHAOS_S), served(site, tmp_path, CHAOS_QUEUES, proxy.url) as app:
            await thirty_calls(site, carrier, observer, phones, app, cut)
    finally:
        await proxy.close()


async def test_the_app_survives_an_asterisk_restart_and_records_the_calls_it_lost(
    site: Site, carrier: TestCarrier, observer: Observer, phones: Phones, tmp_path: Path
) -> None:
    async with asyncio.timeout(CHAOS_S), served(site, tmp_path, CHAOS_QUEUES) as app:
        thirty = await place_thirty(site, carrier, observer, phones)
        restarted = app.mark()
        await asyncio.to_thread(site.center.stop)
        # Asterisk's calls are gone with it; whatever of them the far ends still hold, too.
        for caller in thirty.everyone:
            with contextlib.suppress(AriError):
                await caller.call.hangup()
        await hang_up_all(phones.rest)
        await asyncio.to_thread(site.center.start)
        await app.logged("ari.stream.connected", timeout=30, after=restarted)
        await eventually(lambda: observer.connected, timeout=30)
        # The phones' contacts come back with Asterisk (from its astdb), online once qualified:
        # within max_initial_qualify_time (5 s) of its start. All of them, before this test
        # ends: the next tests expect the session's phones as they found them.
        await agents_online(observer, *TEST_AGENTS, timeout=REGISTERED_S)
        await app.logged('"registered": true', timeout=REGISTERED_S, after=restarted)
        # The app takes calls again, through the menu and the queue to an agent.
        since = observer.mark()
        caller = await arrive(carrier, observer, numbers(7300, 1)[0])
        await to_queue(observer, caller)
        await talking(observer, since)
        await caller.call.hangup()
        await caller.call.wait_ended(timeout=20)
        assert app.process is not None and app.process.returncode is None
        await app_is_done(observer, app)
    outcomes = {c: o for c, (o, _) in app.outcomes().items()}
    assert set(outcomes) == {c.channel for c in (*thirty.everyone, caller)}
    expected = {c.channel: "answered" for c in (*thirty.talkers, caller)}
    expected |= {c.channel: "abandoned_menu" for c in thirty.menus}
    assert {c: outcomes[c] for c in expected} == expected
    # As Asterisk stops, the conversations end first, and the queue may ring the freed agent
    # for a waiting caller whose end it has not seen yet: in the queue, or while ringing.
    waited = {outcomes[c.channel] for c in thirty.waiting}
    assert waited <= {"abandoned_queue", "abandoned_ringing"}, waited


async def hang_up_all(rest: Ari) -> None:
    for channel in await rest.list_channels():
        with contextlib.suppress(AriError):
            await rest.hangup(str(channel["id"]))


async def app_is_done(observer: Observer, app: ServedApp) -> None:
    """The app has ended every call (no channel, no bridge left), then stops cleanly: the
    records are complete without a stop handing anything back."""
    channels, bridges = await wait_until_idle(observer.rest, timeout=20)
    assert not channels and not bridges, (channels, bridges)
    await app.stop()
