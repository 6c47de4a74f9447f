"""Issue #13 over real SIP: a withheld number (CLIR) is honoured end to end.

The test carrier sends the caller's number in P-Asserted-Identity with ``Privacy: id`` (as a
German carrier does for CLIR). The ServiceCenter may use it to find the town (Bottrop by its
area code) but the number appears in no log line of the app or of the ServiceCenter's
Asterisk, in no INVITE to an agent (From, P-Asserted-Identity, display), in no call record
and in no callback request; the caller's name neither.
"""

from __future__ import annotations

import io
import sqlite3
from collections.abc import Callable
from pathlib import Path

import structlog

from ari_app.errors import AriError
from ari_app.events import Event
from ari_app.handoff import queue_bridge_id
from stadtruf import logging as stadtruf_logging
from stadtruf.store.records import RecordStore
from stadtruf.testcall import OutboundCall, TestCarrier
from tests.integration.conftest import Site, open_clock
from tests.integration.phones import Phones
from tests.integration.support import Observer, eventually, on_channel
from tests.integration.test_queue import queue_service, talking

NUMBER = "02041987654"
SUBSCRIBER = NUMBER.removeprefix("02041")  # what must never show, in any form
NAME = "Erika Geheim"


async def withheld_call(
    carrier: TestCarrier, observer: Observer, digit: str
) -> tuple[OutboundCall, str, int]:
    """115 with the number withheld; `digit` pressed at the greeting."""
    since = observer.mark()
    call = await carrier.call("115", caller=NUMBER, caller_name=NAME, withheld=True)
    channel = await observer.channel_of_caller(NUMBER, since=since)
    await observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since)
    await call.dtmf(digit)
    return call, channel, since


async def test_a_withheld_number_reaches_no_agent_log_record_or_callback(
    site: Site,
    carrier: TestCarrier,
    observer: Observer,
    phones: Phones,
    tmp_path: Path,
) -> None:
    out = io.StringIO()
    stadtruf_logging.configure(json=True, level="DEBUG", file=out)
    clock = open_clock()
    store = RecordStore.open(
        f"sqlite:///{tmp_path}/anrufe.sqlite", caller_number="full", clock=clock
    )
    asterisk_log = site.center.directory / "log" / "messages.log"
    log_start = asterisk_log.stat().st_size
    phones.behaviour.update({"agent-101": "answer", "agent-102": "busy", "agent-103": "busy"})
    headers: dict[str, str] = {}
    try:
        async with queue_service(site, tmp_path, clock=clock, records=store) as service:
            queue = service.queue
            assert queue is not None and queue.callbacks is not None
            # 1. To an agent: Bottrop (found by the withheld number's area code), menu 0.
            call, channel, since = await withheld_call(carrier, observer, "0")
            ring = await phones.next_answered()
            for name in ("From", "P-Asserted-Identity", "Privacy", "Remote-Party-ID"):
                headers[name] = await header(phones, ring.channel_id, name)
            await talking(observer, since)
            assert ring.caller_id_name.startswith("[BOT]"), "the town was found all the same"
            await call.hangup()
            await eventually(lambda: ring.channel_id in phones.ended, timeout=10)
        # 2. A callback while waiting (Elterngeld, 5; nobody logged in): without a number the
        # caller is told so and waits on; no request is stored with the withheld number.
        async with queue_service(
            site, tmp_path, logged_in=(), clock=clock, records=store
        ) as service:
            queue = service.queue
            assert queue is not None and queue.callbacks is not None
            call, channel, since = await withheld_call(carrier, observer, "5")
            await observer.wait_for(in_queue(channel), since=since)
            since = observer.mark()
            await call.dtmf("1")
            # The apology: no number to call back (and no request taken).
            await observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since)
            await call.hangup()
            await call.wait_ended(timeout=10)
            stored = [asdict_text(c) for c in queue.callbacks.list()]
        store.flush(timeout=10)
    finally:
        store.close()
        stadtruf_logging.set_privacy("area_code")
        structlog.reset_defaults()
    assert SUBSCRIBER not in ring.caller_number and NAME not in ring.caller_id_name
    for name, value in headers.items():
        assert SUBSCRIBER not in value, f"{name} of the agent's INVITE: {value}"
        assert "Geheim" not in value, f"{name} of the agent's INVITE: {value}"
    assert not [c for c in stored if SUBSCRIBER in c]
    app_log = out.getvalue()
    assert "call.happened" in app_log, "the app logged the calls"
    assert SUBSCRIBER not in app_log and "Geheim" not in app_log
    with asterisk_log.open("rb") as f:
        f.seek(log_start)
        center_log = f.read().decode(errors="replace")
    assert "STADTRUF_CALLER_LOG=unterdrückt" in center_log, "the dialplan saw the CLIR"
    assert SUBSCRIBER not in center_log, [
        line for line in center_log.splitlines() if SUBSCRIBER in line
    ][:3]
    with sqlite3.connect(tmp_path / "anrufe.sqlite") as db:
        rows = db.execute("SELECT * FROM call_records").fetchall()
    assert rows, "the calls were recorded"
    assert all(SUBSCRIBER not in str(row) and "Geheim" not in str(row) for row in rows)


async def header(phones: Phones, channel: str, name: str) -> str:
    """A header of the INVITE the agent's phone received; "" when it has none."""
    try:
        return await phones.rest.get_var(channel, f"PJSIP_HEADER(read,{name})") or ""
    except AriError:  # Asterisk: "Unable to read provided function" for a missing header
        return ""


def in_queue(channel: str) -> Callable[[Event], bool]:
    entered = on_channel(channel, "ChannelEnteredBridge")
    return lambda e: entered(e) and str(e.bridge_id).startswith(queue_bridge_id(""))


def asdict_text(record: object) -> str:
    return repr(record)
