"""Issue 14 over real SIP, in a real headless Chromium: the wallboard and the agent screen.

A supervisor's browser shows the wallboard, agent-101's browser its screen, both logged in
through the login form, both fed by Server-Sent Events from the running app. A Bottrop
caller dials 115 and presses 0 (Vermittlung): the call must be on the wallboard, with its
town, within a second; agent-101's phone rings (the test answers it only after the screen
showed town, topic and knowledge links). Then the agent pauses on the screen: the next
caller waits and agent-101's phone stays silent. Before that, the agent sends the first
caller on to Bottrop's office with the screen's transfer button. The wallboard's service
level must equal the report's figure for the same calls, from the call records. Screenshots
in build/artifacts/.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from stadtruf.api.agent_api import ApiServer, make_api
from stadtruf.api.auth import ApiAuth
from stadtruf.api.web import WebSettings, WebUi
from stadtruf.api.web_data import ScreenData
from stadtruf.config.agents import AgentsConfig, QueueSettings
from stadtruf.core.hours import BERLIN
from stadtruf.core.lockout import Throttle
from stadtruf.core.service_figures import Rules, Tally, figures
from stadtruf.core.web_access import User, password_hash
from stadtruf.service import Service
from stadtruf.store import records_db
from stadtruf.store.records import RecordStore
from stadtruf.store.report_query import facts
from stadtruf.testcall import TestCarrier
from tests.integration.conftest import OPEN_AT, TEST_QUEUES, Site, open_clock
from tests.integration.phones import Phones
from tests.integration.support import Observer, eventually, on_channel
from tests.integration.test_queue import queue_of, queue_service, queued, talking
from tests.support.browser import ARTIFACTS, chromium

PASSWORDS = {"aufsicht": "Aufsicht-Wand-2026", "agent-101": "Anna-Bildschirm-101"}
USERS = {
    "aufsicht": User("aufsicht", "supervisor", password_hash(PASSWORDS["aufsicht"])),
    "agent-101": User("agent-101", "agent", password_hash(PASSWORDS["agent-101"])),
}
# The ring lasts long enough to look at the screen before the test answers.
RINGING = AgentsConfig.model_copy(
    TEST_QUEUES,
    update={
        "defaults": QueueSettings.model_validate(
            TEST_QUEUES.defaults.model_copy(update={"ring_timeout": 30, "autopause_after": 0})
        )
    },
)
PUSH_LIMIT_S = 1.0


def wait_browser(driver: Any, condition: Callable[[Any], Any], timeout: float = 10.0) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(condition)


def login(driver: Any, base: str, page: str, name: str) -> None:
    from selenium.webdriver.common.by import By

    driver.get(base + page)
    wait_browser(driver, lambda d: d.current_url.endswith("/ui/login"))
    driver.find_element(By.NAME, "name").send_keys(name)
    driver.find_element(By.NAME, "password").send_keys(PASSWORDS[name])
    driver.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_browser(driver, lambda d: d.current_url.endswith(page))
    wait_browser(
        driver, lambda d: d.find_element(By.ID, "connection").text == "verbunden", timeout=10
    )


# The pages re-render from every pushed view (at least each second, as waits tick): element
# handles go stale, so the tests read and click through one script call each, atomically.


def text_of(driver: Any, element_id: str) -> str:
    script = "const e = document.getElementById(arguments[0]); return e ? e.innerText : '';"
    return str(driver.execute_script(script, element_id))


def waiting_rows(driver: Any) -> list[tuple[str, str]]:
    """The wallboard's waiting lines as (client, text)."""
    rows = driver.execute_script(
        "return [...document.querySelectorAll('tr.waiting-line')]"
        ".map(r => [r.dataset.client, r.innerText]);"
    )
    return [(str(c), str(t)) for c, t in rows]


def links_of(driver: Any) -> list[tuple[str, str]]:
    links = driver.execute_script(
        "return [...document.querySelectorAll('#knowledge a.knowledge')]"
        ".map(a => [a.innerText, a.href]);"
    )
    return [(str(t), str(h)) for t, h in links]


def click(driver: Any, selector: str) -> bool:
    script = "const e = document.querySelector(arguments[0]); if (e) e.click(); return !!e;"
    return bool(driver.execute_script(script, selector))


def level_shown(driver: Any, client: str) -> float | None:
    value = driver.execute_script(
        "const e = document.querySelector(`.level[data-client=${arguments[0]}]`);"
        "return e ? e.dataset.percent : '';",
        client,
    )
    return float(value) if value else None


def pause_on_screen(driver: Any, reason: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    Select(driver.find_element(By.ID, "pause-reason")).select_by_visible_text(reason)
    driver.find_element(By.CSS_SELECTOR, "button[data-action=pause]").click()


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Selenium blocks: off the event loop, which carries the calls."""
    return await asyncio.to_thread(function, *args)


@contextlib.asynccontextmanager
async def web_server(service: Service, site: Site) -> AsyncIterator[str]:
    """The API with the web UI, on loopback, for the running `service`."""
    queue = queue_of(service)
    assert service.book is not None
    config = site.config
    throttle = Throttle()
    data = ScreenData(queue.snapshot, queue.clock, service.figures, service.book, lambda: config)
    ui = WebUi(WebSettings(USERS), data, queue, throttle)
    server = ApiServer(
        make_api(queue, ApiAuth(), None, queue.clock, service.figures, throttle=throttle, web_ui=ui)
    )
    await server.start("127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.port}"
    finally:
        await server.close()


@pytest.fixture
def browsers() -> Any:
    profiles = [tempfile.mkdtemp(prefix="stadtruf-chromium-") for _ in range(2)]
    drivers: list[Any] = []
    try:
        drivers.append(chromium(profiles[0], "1600,1000"))
        drivers.append(chromium(profiles[1], "1300,900"))
        yield drivers
    finally:
        for driver in drivers:
            driver.quit()
        for profile in profiles:
            shutil.rmtree(profile, ignore_errors=True)


async def test_a_real_call_on_the_wallboard_and_the_agent_screen(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
    browsers: list[Any],
) -> None:

    board, screen = browsers
    clock = open_clock()
    url = f"sqlite:///{tmp_path}/anrufe.sqlite"
    records = RecordStore.open(url, caller_number="area_code", clock=clock)
    phones.behaviour["agent-101"] = "ring"  # the test answers by hand
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        async with queue_service(
            site, tmp_path, logged_in=("agent-101",), agents=RINGING, clock=clock, records=records
        ) as service:
            queue = queue_of(service)
            async with web_server(service, site) as base:
                await in_thread(login, board, base, "/ui/wallboard", "aufsicht")
                await in_thread(login, screen, base, "/ui/agent/agent-101", "agent-101")
                assert await in_thread(text_of, screen, "state") == "Bereit"

                # 1. A real call to 115 from a Bottrop number: on the wallboard within 1 s.
                call, _ = await queued(carrier, observer, "115", "02041555801")
                queued_at = time.monotonic()
                await in_thread(
                    wait_browser,
                    board,
                    lambda d: any(c == "bottrop" for c, _ in waiting_rows(d)),
                    5.0,
                )
                shown_after = time.monotonic() - queued_at
                rows = await in_thread(waiting_rows, board)
                assert any("Bottrop" in text and "Vermittlung" in text for _, text in rows), rows
                print(f"wallboard showed the call after {shown_after:.3f} s")
                assert shown_after <= PUSH_LIMIT_S, f"wallboard after {shown_after:.2f} s"

                # 2. The agent's screen pops while the phone rings, before anyone answers.
                await eventually(lambda: bool(phones.rings_of("agent-101")), timeout=10)
                await in_thread(
                    wait_browser, screen, lambda d: text_of(d, "call-town") == "Bottrop", 5.0
                )
                assert queue.state.agents["agent-101"].status == "ringing"
                assert phones.answered.empty()
                assert await in_thread(text_of, screen, "call-topic") == "Vermittlung"
                assert "02041" in await in_thread(text_of, screen, "call-origin")
                assert await in_thread(text_of, screen, "call-caller") == "02041…"
                links = await in_thread(links_of, screen)
                assert [title for title, _ in links] == ["Telefonbuch der Stadtverwaltung Bottrop"]
                assert links[0][1].startswith("https://www.bottrop.de/")
                await in_thread(screen.save_screenshot, str(ARTIFACTS / "agent-screen-ring.png"))
                await in_thread(board.save_screenshot, str(ARTIFACTS / "wallboard-call.png"))

                # The agent answers; the caller hangs up after a moment of talk.
                since = observer.mark()
                ring = phones.rings_of("agent-101")[-1]
                await phones.rest.answer(ring.channel_id)
                bridge = await talking(observer, since)
                await in_thread(
                    wait_browser, screen, lambda d: text_of(d, "state") == "Im Gespräch", 5.0
                )
                # The agent sends the caller on to Bottrop's office (Abfall) from the screen.
                button = "button.transfer[data-number='0204170350']"
                await in_thread(
                    lambda: wait_browser(screen, lambda d: d.execute_script(
                        "return !!document.querySelector(arguments[0]);", button
                    ))
                )  # fmt: skip
                await in_thread(
                    lambda: screen.save_screenshot(str(ARTIFACTS / "agent-screen-talking.png"))
                )
                assert await in_thread(click, screen, button)
                incoming = await asyncio.wait_for(carrier.incoming.get(), 15)
                office = incoming.raw["channel"]
                assert office["dialplan"]["exten"] == "0204170350"
                assert office["channelvars"]["X_ORIGIN_CITY"] == "Bottrop"
                assert office["caller"]["number"] == "02041555801"
                await observer.wait_for(
                    lambda e: e.type == "BridgeDestroyed" and e.bridge_id == bridge, since=since
                )
                await eventually(lambda: ring.channel_id in phones.ended)
                await eventually(lambda: queue.state.agents["agent-101"].status == "ready")
                await carrier.rest.answer(office["id"])
                await carrier.rest.hangup(office["id"])
                await call.wait_ended()

                # 3. Pause on the screen: the next caller waits, the phone stays silent.
                await in_thread(pause_on_screen, screen, "Mittagspause")
                await eventually(lambda: queue.state.agents["agent-101"].paused == "Mittagspause")
                await in_thread(
                    wait_browser, screen, lambda d: text_of(d, "state") == "Pause: Mittagspause"
                )
                rings_before = len(phones.rings_of("agent-101"))
                call2, channel2 = await queued(carrier, observer, "115", "02041555802")
                await in_thread(
                    wait_browser,
                    board,
                    lambda d: any(c == "bottrop" for c, _ in waiting_rows(d)),
                    5.0,
                )
                # Past the short-abandon limit (5 s), so this call counts against the level.
                await asyncio.sleep(6.5)
                assert len(phones.rings_of("agent-101")) == rings_before
                assert queue.state.agents["agent-101"].status == "paused"
                agents_text = await in_thread(text_of, board, "agents")
                assert "Pause: Mittagspause" in agents_text
                await in_thread(board.save_screenshot, str(ARTIFACTS / "wallboard-paused.png"))
                since = observer.mark()
                await call2.hangup()
                await observer.wait_for(on_channel(channel2, "ChannelDestroyed"), since=since)

                # 4. Today's service level on the wallboard: one answered in time of two.
                await in_thread(
                    wait_browser, board, lambda d: level_shown(d, "bottrop") == 50.0, 10.0
                )
                shown = await in_thread(level_shown, board, "bottrop")
                await in_thread(board.save_screenshot, str(ARTIFACTS / "wallboard-level.png"))
                await in_thread(screen.save_screenshot, str(ARTIFACTS / "agent-screen-paused.png"))
                recent = await in_thread(text_of, screen, "recent")
                assert "Bottrop" in recent and "angenommen" in recent
                assert "weiterverbunden" not in recent  # answered first, then sent on
    finally:
        await asyncio.to_thread(records.close)

    # The report's figure for the same calls, from the call records.
    day = datetime.fromisoformat(OPEN_AT).replace(tzinfo=BERLIN, hour=0, minute=0)
    start, end = day.timestamp(), (day + timedelta(days=1)).timestamp()
    engine = records_db.connect(url)
    try:
        tally = Tally()
        calls = list(facts(engine, start, end, "bottrop"))
        for fact in calls:
            tally.add(fact, Rules(threshold_s=30))
    finally:
        engine.dispose()
    sent_on = [(c.outcome, c.transferred_by, c.transfer_target) for c in calls if c.talk_s]
    assert sent_on == [("answered", "agent", "0204170350")]
    report = figures(tally)
    assert report.offered == 2
    assert report.service_level is not None
    assert shown == round(report.service_level * 100, 1) == 50.0
