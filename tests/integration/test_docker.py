"""The Docker image over real SIP: the ServiceCenter, the test carrier and the agents' phones
as three containers of asterisk-docker/Dockerfile, built in this run.

The engine is the machine's, or a private dockerd these tests start and stop
(docker_engine.py); without a registry the base image is imported from a debootstrap root
filesystem. The containers take the same settings as the rootfs instances (topology.py) on
their own loopback addresses, and the same Stasis app drives the ServiceCenter. An engine that
cannot start fails these tests; they are never skipped.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from ari_app.errors import AriError
from ari_app.handoff import queue_bridge_id
from stadtruf.asterisk.agents import AgentEndpoint
from stadtruf.asterisk.container import (
    BASE_IMAGE,
    IMAGE,
    ContainerInstance,
    Docker,
    build_image,
    import_base_image,
)
from stadtruf.asterisk.dialplan import numbers_conf
from stadtruf.asterisk.instance import InstanceSettings
from stadtruf.asterisk.topology import (
    ARI_USER,
    AddressPlan,
    agent_phones_settings,
    carrier_settings,
    rootfs_path,
    servicecenter_settings,
)
from stadtruf.config import load_site
from stadtruf.paths import sample_config_dir
from stadtruf.prompt_files import install_prompts
from stadtruf.testcall import TestCarrier
from tests.integration.conftest import TEST_AGENTS, TEST_QUEUES, Site
from tests.integration.docker_engine import docker_engine
from tests.integration.phones import Phones
from tests.integration.support import Observer, on_channel, wait_until_idle
from tests.integration.test_menus import press, prompt_started
from tests.integration.test_queue import queue_service
from tests.support.addresses import address_in_test_net

# Clear of the rootfs instances (.21-.23) and test_up (.31-.35): all may run in one session.
DOCKER_PLAN = AddressPlan(
    servicecenter=address_in_test_net(61),
    carrier=address_in_test_net(62),
    agents=address_in_test_net(63),
)
CACHE = Path.home() / ".cache" / "stadtruf"


def _report(what: str, started: float) -> None:
    # Shown with -s and in CI logs: what the container tests add to a run.
    print(f"\n[docker] {what}: {time.monotonic() - started:.1f} s", file=sys.stderr)


@pytest.fixture(scope="module")
def engine() -> Iterator[Docker]:
    started = time.monotonic()
    with docker_engine(CACHE) as docker:
        _report("engine ready", started)
        yield docker


@pytest.fixture(scope="module")
def image(engine: Docker, tmp_path_factory: pytest.TempPathFactory) -> str:
    if not engine.has_image(BASE_IMAGE):
        started = time.monotonic()
        import_base_image(engine, tmp_path_factory.mktemp("base"))
        _report(f"{BASE_IMAGE} imported from debootstrap", started)
    started = time.monotonic()
    tag = f"{IMAGE}:test"
    build_image(engine, tag)
    _report(f"{tag} built", started)
    return tag


@pytest.fixture(scope="module")
def docker_site(
    engine: Docker, image: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Site]:
    config = load_site(sample_config_dir()).config
    password = secrets.token_urlsafe(18)
    base = tmp_path_factory.mktemp("containers")
    agents = [AgentEndpoint(a, secrets.token_urlsafe(12)) for a in TEST_AGENTS]
    net = DOCKER_PLAN.servicecenter.rsplit(".", 1)[0].replace(".", "-")

    def container(settings: InstanceSettings) -> ContainerInstance:
        name = f"stadtruf-test-{net}-{settings.name}"
        return ContainerInstance(settings, base / settings.name, engine, image, name)

    center = container(
        servicecenter_settings(
            DOCKER_PLAN,
            password,
            numbers_conf(config, TEST_QUEUES),
            agents,
            capacity=config.service_center.capacity,
        )
    )
    carrier = container(carrier_settings(DOCKER_PLAN, password))
    phones = container(agent_phones_settings(DOCKER_PLAN, password, agents))
    # The prompts are rendered on the host (same espeak-ng as the image: packages.txt) and
    # reach the container through the mounted instance directory, as with the rootfs.
    install_prompts(config, center.directory, rootfs_path(), TEST_QUEUES)
    started = time.monotonic()
    try:
        center.start()
        carrier.start()
        phones.start()
        _report("three Asterisk containers up", started)
        yield Site(center, carrier, phones, password, config)
    finally:
        phones.stop()
        carrier.stop()
        center.stop()


@pytest.fixture(scope="module")
async def docker_http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(scope="module")
async def docker_observer(
    docker_site: Site, docker_http: aiohttp.ClientSession
) -> AsyncIterator[Observer]:
    obs = Observer(docker_http, docker_site.center.settings.ari_url, ARI_USER, docker_site.password)
    await obs.start()
    yield obs
    await obs.close()


@pytest.fixture(scope="module")
async def docker_carrier(
    docker_site: Site, docker_http: aiohttp.ClientSession
) -> AsyncIterator[TestCarrier]:
    tc = TestCarrier(
        docker_http, docker_site.carrier.settings.ari_url, ARI_USER, docker_site.password
    )
    await tc.start()
    yield tc
    await tc.close()


@pytest.fixture(scope="module")
async def docker_phones(
    docker_site: Site, docker_http: aiohttp.ClientSession
) -> AsyncIterator[Phones]:
    listener = Phones(docker_http, docker_site)
    await listener.start()
    yield listener
    await listener.close()


@pytest.fixture(autouse=True)
async def no_leftovers(
    docker_observer: Observer, docker_carrier: TestCarrier, docker_phones: Phones
) -> AsyncIterator[None]:
    """As conftest's, for the containers (it replaces conftest's here: the rootfs instances
    are not needed by these tests)."""
    docker_phones.reset()
    yield
    leftovers: list[str] = []
    for name, rest in (
        ("ServiceCenter container", docker_observer.rest),
        ("test carrier container", docker_carrier.rest),
        ("agents' phones container", docker_phones.rest),
    ):
        channels, bridges = await wait_until_idle(rest)
        if channels or bridges:
            leftovers.append(f"left in the {name}: channels {[c['name'] for c in channels]}")
            for channel in channels:
                with contextlib.suppress(AriError):
                    await rest.hangup(channel["id"])
            for bridge in bridges:
                with contextlib.suppress(AriError):
                    await rest.destroy_bridge(bridge["id"])
    assert not leftovers, "; ".join(leftovers)


async def test_115_through_the_menu_reaches_an_agent_in_the_container(
    docker_site: Site,
    docker_carrier: TestCarrier,
    docker_observer: Observer,
    docker_phones: Phones,
    tmp_path: Path,
) -> None:
    """Bottrop caller on 115: main menu 2 (Kfz), submenu 1 (Zulassung), the queue rings the
    agents' phones in their container; agent-101 gets the call annotated with Bottrop."""
    observer, carrier, phones = docker_observer, docker_carrier, docker_phones
    phones.behaviour.update({"agent-101": "answer", "agent-102": "busy", "agent-103": "busy"})
    bottrop = docker_site.config.clients["bottrop"]
    async with queue_service(docker_site, tmp_path):
        since = observer.mark()
        call = await carrier.call("115", caller="02041555901", caller_name="Max Mustermann")
        channel = await observer.channel_of_caller("02041555901", since=since)
        await observer.wait_for(
            prompt_started(channel, bottrop.menu.menus["main"].prompt), since=since
        )
        mark = await press(call, observer, channel, "2")
        await observer.wait_for(
            prompt_started(channel, bottrop.menu.menus["kfz"].prompt), since=mark
        )
        mark = await press(call, observer, channel, "1")
        await observer.wait_for(
            lambda e: (
                on_channel(channel, "ChannelEnteredBridge")(e)
                and e.bridge_id == queue_bridge_id("kfz")
            ),
            since=mark,
        )
        ring = await phones.next_answered()
        assert ring.agent == "agent-101"
        assert ring.caller_number == "02041555901"
        assert ring.caller_id_name.startswith("[BOT] Kfz-Zulassung")
        assert ring.origin_city == "Bottrop"
        assert ring.topic == "kfz"
        assert await observer.rest.get_var(channel, "STADTRUF_CLIENT") == "bottrop"
        await call.hangup()
        await call.wait_ended(timeout=20)


def test_containers_run_the_image_of_this_checkout(docker_site: Site, engine: Docker) -> None:
    """The image's config came from the entrypoint (not from the host) and uses the settings:
    bind address, RTP range, icesupport off, the generated files linked in."""
    for instance in (docker_site.center, docker_site.carrier, docker_site.phones):
        assert isinstance(instance, ContainerInstance)
        assert instance.running
        etc = instance.directory / "etc"
        rtp = (etc / "rtp.conf").read_text()
        assert f"rtpstart = {instance.settings.rtp_start}" in rtp
        assert f"rtpend = {instance.settings.rtp_end}" in rtp
        assert "icesupport = no" in rtp
        assert instance.settings.bind_address in (etc / "pjsip.conf").read_text()
        for name in instance.settings.files:
            assert (etc / name).is_symlink(), f"{name} is not linked from generated/"
        # Asterisk resolves its own host name: /etc/hosts must name it.
        hosts = engine.run(
            "exec", instance.container_name, "sh", "-c", 'getent hosts "$(hostname)"', check=False
        )
        assert hosts.returncode == 0 and hosts.stdout.strip(), "the host name is not resolvable"


def test_entrypoint_refuses_a_half_configured_container(engine: Docker, image: str) -> None:
    """A missing setting or an unknown overlay stops the container with the reason, before
    Asterisk starts (never an ARI user without a password)."""
    run = ("run", "--rm", "--network", "none")
    missing = engine.run(*run, "--env", "STADTRUF_BIND_ADDRESS=127.0.0.1", image, check=False)
    assert missing.returncode != 0
    assert "STADTRUF_ARI_PASSWORD" in missing.stderr, missing.stderr
    unknown = engine.run(*run, "--env", "STADTRUF_OVERLAY=nosuch", image, check=False)
    assert unknown.returncode == 2
    assert "unknown STADTRUF_OVERLAY nosuch" in unknown.stderr, unknown.stderr
