"""Real Asterisk 22 for the integration tests: the ServiceCenter and the test carrier.

Both start once per session from the cached Debian root filesystem (asterisk-docker/rootfs.sh).
If Asterisk cannot start, every integration test fails with the reason: nothing is skipped.
After each test, no channel and no bridge may be left in either Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import aiohttp
import pytest

from ari_app.application import StasisApplication
from ari_app.errors import AriError
from ari_app.settings import AriSettings
from stadtruf.asterisk.agents import AgentEndpoint
from stadtruf.asterisk.dialplan import numbers_conf
from stadtruf.asterisk.instance import AsteriskInstance
from stadtruf.asterisk.topology import (
    ARI_USER,
    agent_phones_settings,
    carrier_settings,
    rootfs_path,
    servicecenter_settings,
)
from stadtruf.config import load_site
from stadtruf.config.agents import AgentsConfig
from stadtruf.config.load import ServiceCenterConfig
from stadtruf.paths import sample_config_dir
from stadtruf.prompt_files import install_prompts
from stadtruf.service import LiveConfig, Records, build_app, running_clock
from stadtruf.testcall import TestCarrier
from tests.integration.support import Observer, wait_until_idle
from tests.support.addresses import TEST_PLAN

if TYPE_CHECKING:
    from tests.integration.phones import Phones

pytestmark = pytest.mark.integration


# Three test agents' phones: the queue tests make one answer, one never answer, one busy.
TEST_AGENTS = ("agent-101", "agent-102", "agent-103")

# The queue settings of the integration tests: short times, so the tests take seconds.
# Levels give a fixed ring order: agent-103 first, then agent-102, then agent-101.
TEST_QUEUES = AgentsConfig.model_validate(
    {
        "defaults": {
            "strategy": "longest_idle",
            "ring_timeout": 3,
            "retry": 1,
            "wrapup": 0,
            "autopause_after": 2,
            "announce_every": 0,
            "priorities": [{"dialled": "switchboard", "priority": 5}],
        },
        "queues": {
            "elterngeld": {"max_wait": 3, "overflow": {"callback": True}, "announce_every": 2},
            "abfall": {"max_wait": 2, "overflow": {"queue": "vermittlung"}},
            "ordnungsamt": {
                "max_wait": 2,
                "overflow": {"announce": "Bitte rufen Sie später wieder an."},
            },
        },
        "agents": [
            {"id": "agent-103", "name": "Busy Berta", "skills": [{"level": 1}]},
            {"id": "agent-102", "name": "Never Nils", "skills": [{"level": 2}]},
            {"id": "agent-101", "name": "Anna Answer", "skills": [{"level": 3}]},
        ],
    }
)


# The FastAGI test's own route (test_fastagi.py): the carrier's 999<number> reaches the classic
# dialplan example as <number>, without Stasis, as a classic PBX's trunk context sends its numbers.
FASTAGI_ROUTE = "exten => _999X.,1,Goto(stadtruf-fastagi-example,${EXTEN:3},1)\n"


def _with_fastagi_route(numbers_conf: str) -> str:
    return numbers_conf.replace("[stadtruf-numbers]\n", "[stadtruf-numbers]\n" + FASTAGI_ROUTE, 1)


# The app's clock in the tests: Wednesday 3 June 2026, 10:00 Berlin, running on in real time.
# Every sample client is open then, whenever the tests run (the sample config has opening
# hours); the hours tests start their own app at other moments.
OPEN_AT = "2026-06-03T10:00"


def open_clock() -> Callable[[], float]:
    return running_clock(OPEN_AT)


@dataclass
class Site:
    center: AsteriskInstance
    carrier: AsteriskInstance
    phones: AsteriskInstance
    password: str
    config: ServiceCenterConfig

    @property
    def app_settings(self) -> AriSettings:
        return AriSettings(url=self.center.settings.ari_url, user=ARI_USER, password=self.password)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    config = load_site(sample_config_dir()).config
    password = secrets.token_urlsafe(18)
    base = tmp_path_factory.mktemp("asterisk")
    agents = [AgentEndpoint(a, secrets.token_urlsafe(12)) for a in TEST_AGENTS]
    center = AsteriskInstance(
        servicecenter_settings(
            TEST_PLAN,
            password,
            _with_fastagi_route(numbers_conf(config, TEST_QUEUES)),
            agents,
            capacity=config.service_center.capacity,
        ),
        base / "servicecenter",
    )
    carrier = AsteriskInstance(carrier_settings(TEST_PLAN, password), base / "testcarrier")
    phones = AsteriskInstance(
        agent_phones_settings(TEST_PLAN, password, agents), base / "testagents"
    )
    # The closed announcements of the test week too (rendered from the test clock's day).
    install_prompts(config, center.directory, rootfs_path(), TEST_QUEUES, clock=open_clock())
    try:
        center.start()
        carrier.start()
        phones.start()
        yield Site(center, carrier, phones, password, config)
    finally:
        phones.stop()
        carrier.stop()
        center.stop()


@pytest.fixture(scope="session")
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="session")
async def observer(site: Site, http: aiohttp.ClientSession) -> AsyncIterator[Observer]:
    obs = Observer(http, site.center.settings.ari_url, ARI_USER, site.password)
    await obs.start()
    yield obs
    await obs.close()


@pytest.fixture(scope="session")
async def carrier(site: Site, http: aiohttp.ClientSession) -> AsyncIterator[TestCarrier]:
    tc = TestCarrier(http, site.carrier.settings.ari_url, ARI_USER, site.password)
    await tc.start()
    yield tc
    await tc.close()


@contextlib.asynccontextmanager
async def running_app(
    site: Site,
    live: LiveConfig,
    *,
    clock: Callable[[], float] | None = None,
    records: Records | None = None,
) -> AsyncIterator[StasisApplication]:
    """The Stasis app, in this process, connected to the ServiceCenter's Asterisk; its clock
    at `OPEN_AT` unless the test gives one."""
    application = build_app(site.app_settings, live, clock=clock or open_clock(), records=records)
    task = asyncio.create_task(application.run())
    async with asyncio.timeout(10):
        await application.ready.wait()
    try:
        yield application
    finally:
        await application.stop()
        await task


@pytest.fixture
async def app(site: Site) -> AsyncIterator[StasisApplication]:
    async with running_app(site, LiveConfig(sample_config_dir(), site.config)) as application:
        yield application


@pytest.fixture(scope="session")
async def phones(site: Site, http: aiohttp.ClientSession) -> AsyncIterator[Phones]:
    from tests.integration.phones import Phones  # it imports Site from here

    listener = Phones(http, site)
    await listener.start()
    yield listener
    await listener.close()


@pytest.fixture(autouse=True)
async def no_leftovers(
    observer: Observer, carrier: TestCarrier, phones: Phones
) -> AsyncIterator[None]:
    """Every test ends with no channel and no bridge in any Asterisk."""
    phones.reset()
    yield
    leftovers: list[str] = []
    for name, rest in (
        ("ServiceCenter", observer.rest),
        ("test carrier", carrier.rest),
        ("agents' phones", phones.rest),
    ):
        channels, bridges = await wait_until_idle(rest)
        if channels or bridges:
            leftovers.append(
                f"left in the {name}: channels {[c['name'] for c in channels]}, "
                f"bridges {[b['id'] for b in bridges]}"
            )
            # Clear them, so that this test fails and the next ones start clean.
            for channel in channels:
                with contextlib.suppress(AriError):
                    await rest.hangup(channel["id"])
            for bridge in bridges:
                with contextlib.suppress(AriError):
                    await rest.destroy_bridge(bridge["id"])
    assert not leftovers, "; ".join(leftovers)
