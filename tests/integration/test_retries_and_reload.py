"""Issue #3: the timeout retry path, and hot reload, with short prompts so they run quickly."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from ari_app.handoff import queue_bridge_id
from stadtruf.asterisk.topology import rootfs_path
from stadtruf.config import load_site
from stadtruf.config.model import Prompt
from stadtruf.core.prompts import media_uri
from stadtruf.paths import sample_config_dir
from stadtruf.prompt_files import install_prompts
from stadtruf.service import LiveConfig
from stadtruf.testcall import TestCarrier
from tests.integration.conftest import Site, running_app
from tests.integration.support import Observer, on_channel

BOTTROP_SWITCHBOARD = "02041700"


def edit_yaml(path: Path, change: Any) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def short_config(tmp_path: Path) -> Path:
    """The sample config with short Bottrop prompts and a one-second digit timeout."""
    directory = tmp_path / "config"
    shutil.copytree(sample_config_dir(), directory)

    def center(data: dict[str, Any]) -> None:
        data["menu_defaults"]["timeout"] = 1
        data["greeting"] = "Servicecenter."

    def bottrop(data: dict[str, Any]) -> None:
        data["greeting"] = "Bottrop."
        data["menu"]["menus"]["main"]["prompt"] = "Hauptmenü eins."

    edit_yaml(directory / "service-center.yaml", center)
    edit_yaml(directory / "bottrop.yaml", bottrop)
    return directory


def live_config(site: Site, directory: Path) -> LiveConfig:
    rootfs = rootfs_path()
    config = load_site(directory).config
    install_prompts(config, site.center.directory, rootfs)
    return LiveConfig(
        directory, config, lambda c, _agents: install_prompts(c, site.center.directory, rootfs)
    )


def started(channel: str, prompt: Prompt | str) -> Any:
    uri = media_uri(Prompt(text=prompt) if isinstance(prompt, str) else prompt, "de")
    return lambda e: (
        e.type == "PlaybackStarted"
        and e.channel_id == channel
        and e.raw["playback"]["media_uri"] == uri
    )


def entered(channel: str, topic: str) -> Any:
    return lambda e: (
        on_channel(channel, "ChannelEnteredBridge")(e) and e.bridge_id == queue_bridge_id(topic)
    )


async def test_silence_plays_the_timeout_prompt_then_takes_the_default_route(
    site: Site, short_config: Path, carrier: TestCarrier, observer: Observer
) -> None:
    live = live_config(site, short_config)
    main = live.current.clients["bottrop"].menu.menus["main"]
    assert main.timeout_prompt is not None and main.retries == 2
    async with running_app(site, live):
        since = observer.mark()
        call = await carrier.call(BOTTROP_SWITCHBOARD, caller="02041555101")
        channel = await observer.channel_of_caller("02041555101", since=since)
        await observer.wait_for(started(channel, main.prompt), since=since)
        # Two retries, each led by the timeout prompt, then the menu's default: the operator.
        for _ in range(2):
            await observer.wait_for(started(channel, main.timeout_prompt), since=since)
            since = observer.mark()
        await observer.wait_for(entered(channel, "vermittlung"), since=since, timeout=20)
        timeouts = observer.matching(started(channel, main.timeout_prompt))
        assert len(timeouts) == 2
        await call.hangup()


async def test_reload_changes_new_calls_only_and_refuses_a_broken_config(
    site: Site, short_config: Path, carrier: TestCarrier, observer: Observer
) -> None:
    live = live_config(site, short_config)
    async with running_app(site, live):
        since = observer.mark()
        old_call = await carrier.call(BOTTROP_SWITCHBOARD, caller="02041555102")
        old = await observer.channel_of_caller("02041555102", since=since)
        await observer.wait_for(started(old, "Hauptmenü eins."), since=since)

        def new_menu(data: dict[str, Any]) -> None:
            data["menu"]["menus"]["main"]["prompt"] = "Hauptmenü zwei."
            data["menu"]["menus"]["main"]["options"]["0"] = {"queue": "buergerbuero"}

        edit_yaml(short_config / "bottrop.yaml", new_menu)
        assert live.reload()

        since = observer.mark()
        new_call = await carrier.call(BOTTROP_SWITCHBOARD, caller="02041555103")
        new = await observer.channel_of_caller("02041555103", since=since)
        await observer.wait_for(started(new, "Hauptmenü zwei."), since=since)

        # The call in progress keeps the config it started with.
        mark = observer.mark()
        await old_call.dtmf("0")
        await observer.wait_for(entered(old, "vermittlung"), since=mark)
        await new_call.dtmf("0")
        await observer.wait_for(entered(new, "buergerbuero"), since=mark)

        # A broken file is refused; the last good config stays live.
        (short_config / "bottrop.yaml").write_text("id: bottrop\nmenu: [\n", encoding="utf-8")
        current = live.current
        assert not live.reload()
        assert live.current is current
        await old_call.hangup()
        await new_call.hangup()
