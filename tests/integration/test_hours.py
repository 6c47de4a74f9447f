"""Opening hours over real SIP, at moments the test sets on the app's clock.

Thursday 4 June 2026 is Corpus Christi: a public holiday in NW (Bottrop), not in Sachsen
(Leipzig, the example client, added to a copy of the sample config). And 18:00 is the end of
Bottrop's hours: a call at 17:59:59 is served, one at 18:00:00 hears the closed announcement.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from ari_app.application import StasisApplication
from stadtruf.asterisk.topology import rootfs_path
from stadtruf.config import ServiceCenterConfig, load
from stadtruf.core.closed import closed_plan
from stadtruf.core.hours import BERLIN
from stadtruf.core.prompts import SpokenText, media_uri
from stadtruf.paths import sample_config_dir
from stadtruf.prompt_files import install_prompts
from stadtruf.service import LiveConfig, running_clock
from stadtruf.testcall import TestCarrier
from tests.integration.conftest import TEST_QUEUES, Site, running_app
from tests.integration.support import Observer, playback
from tests.integration.test_queue import accept_callback_offer, queue_service

CORPUS_CHRISTI = "2026-06-04T10:00"


def frozen_clock(moment: str) -> Callable[[], float]:
    """A clock that stands at `moment` (Berlin): the call's arrival is exactly then."""
    at = datetime.fromisoformat(moment).replace(tzinfo=BERLIN).timestamp()
    return lambda: at


def closed_media(config: ServiceCenterConfig, client: str, moment: str) -> str:
    at = datetime.fromisoformat(moment).replace(tzinfo=BERLIN)
    plan = closed_plan(config.clients[client], config.service_center, None, at, (), "de")
    assert plan is not None, f"{client} is open at {moment}"
    return SpokenText(plan.text, "de").media_uri


@pytest.fixture(scope="module")
def with_leipzig(site: Site, tmp_path_factory: pytest.TempPathFactory) -> ServiceCenterConfig:
    """The sample config plus the Leipzig example client (Sachsen), its prompts installed."""
    directory = tmp_path_factory.mktemp("with-leipzig") / "config"
    shutil.copytree(sample_config_dir(), directory)
    shutil.copy(sample_config_dir() / "examples" / "leipzig" / "leipzig.yaml", directory)
    center = directory / "service-center.yaml"
    center.write_text(
        center.read_text().replace("topics:\n", "topics:\n  english: {name: English}\n", 1)
    )
    config = load(directory)
    clock = running_clock(CORPUS_CHRISTI)
    install_prompts(config, site.center.directory, rootfs_path(), TEST_QUEUES, clock=clock)
    return config


async def test_corpus_christi_closes_bottrop_but_not_leipzig(
    site: Site,
    with_leipzig: ServiceCenterConfig,
    carrier: TestCarrier,
    observer: Observer,
    tmp_path: Path,
) -> None:
    config = with_leipzig
    live = LiveConfig(config.directory, config)
    clock = running_clock(CORPUS_CHRISTI)
    async with queue_service(site, tmp_path, live=live, logged_in=(), clock=clock) as service:
        queue = service.queue
        assert queue is not None and queue.callbacks is not None
        # Bottrop: the closed announcement (a holiday), then its action: a callback request.
        since = observer.mark()
        call = await carrier.call("02041700", caller="02041555801")
        channel = await observer.channel_of_caller("02041555801", since=since)
        closed = closed_media(config, "bottrop", CORPUS_CHRISTI)
        await observer.wait_for(playback(channel, closed), since=since, timeout=15)
        await accept_callback_offer(observer, call, channel, since, timeout=30)
        [stored] = queue.callbacks.list()
        assert (stored.number, stored.client, stored.topic) == (
            "02041555801",
            "bottrop",
            "vermittlung",
        )

        # Leipzig, at the same moment: open, its menu answers.
        since = observer.mark()
        call = await carrier.call("115", caller="0341555802")
        channel = await observer.channel_of_caller("0341555802", since=since)
        leipzig = config.clients["leipzig"]
        assert leipzig.greeting is not None
        greeting = media_uri(leipzig.greeting, "de")
        await observer.wait_for(playback(channel, greeting), since=since, timeout=15)
        await call.hangup()
        await call.wait_ended()


@pytest.mark.parametrize(("moment", "served"), [("17:59:59", True), ("18:00:00", False)])
async def test_the_last_second_is_served_and_the_closing_time_is_not(
    site: Site, carrier: TestCarrier, observer: Observer, moment: str, served: bool
) -> None:
    at = f"2026-06-03T{moment}"
    live = LiveConfig(sample_config_dir(), site.config)
    app: StasisApplication
    async with running_app(site, live, clock=frozen_clock(at)) as app:
        assert app is not None
        since = observer.mark()
        caller = "02041555803" if served else "02041555804"
        call = await carrier.call("02041700", caller=caller)
        channel = await observer.channel_of_caller(caller, since=since)
        bottrop = site.config.clients["bottrop"]
        assert bottrop.greeting is not None
        expected = media_uri(bottrop.greeting, "de")
        if not served:
            expected = closed_media(site.config, "bottrop", at)
        started = await observer.wait_for(
            lambda e: e.type == "PlaybackStarted" and e.channel_id == channel,
            since=since,
            timeout=15,
        )
        assert started.raw["playback"]["media_uri"] == expected
        if served:
            await call.hangup()
        # Closed, without a callback list (no queue): the announcement, then the hang-up.
        await call.wait_ended(timeout=30)
