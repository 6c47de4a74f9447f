"""The FastAGI server over a real socket, against a scripted Asterisk (tests/support/agi_client).

Each test is one AGI() call: the environment as Asterisk sends it, then every command answered
as Asterisk answers it. Bad input gets STADTRUF_AGI_STATUS=ERROR, a hang-up or a vanished peer
ends the session quietly, and the server goes on serving.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from agi.protocol import quote
from agi.server import AgiServer
from stadtruf.config import load_site
from stadtruf.core.hours import BERLIN
from stadtruf.paths import sample_config_dir
from tests.support.agi_client import ScriptedAsterisk, environment, parse_args

WEDNESDAY_10 = datetime(2026, 11, 25, 10, 0, tzinfo=BERLIN)
WEDNESDAY_20 = datetime(2026, 11, 25, 20, 0, tzinfo=BERLIN)


class Clock:
    def __init__(self) -> None:
        self.now = WEDNESDAY_10

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
async def server() -> AsyncIterator[tuple[AgiServer, int, Clock]]:
    config = load_site(sample_config_dir()).config
    clock = Clock()
    app = AgiServer(lambda: config, now=clock, session_timeout=2.0)
    listening = await app.start("127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    yield app, port, clock
    await app.close(listening)


async def asterisk_call(port: int, lines: list[bytes], **script: object) -> ScriptedAsterisk:
    asterisk = ScriptedAsterisk("127.0.0.1", port, **script)  # type: ignore[arg-type]
    await asterisk.call(lines)
    return asterisk


async def idle(app: AgiServer) -> None:
    """The server has closed every session (none spins on a dead socket)."""
    async with asyncio.timeout(2):
        while app.sessions:
            await asyncio.sleep(0.01)


async def test_origin_annotates_bottrops_switchboard(server: tuple[AgiServer, int, Clock]) -> None:
    app, port, _ = server
    lines = environment("origin", "dialled=02041700", agi_calleridname="Max Muster")
    asterisk = await asterisk_call(port, lines)
    variables = asterisk.variables
    assert variables["STADTRUF_AGI_STATUS"] == "OK"
    assert variables["STADTRUF_CLIENT"] == "bottrop"
    assert variables["STADTRUF_ORIGIN_RULE"] == "switchboard"
    assert variables["CALLERID(name)"] == "[BOT] · Max Muster"
    assert variables["__STADTRUF_HEADER_X_ORIGIN_CITY"] == "Bottrop"
    assert list(variables)[-1] == "STADTRUF_AGI_STATUS"  # OK only once all is set
    assert any("bottrop (switchboard)" in line for line in asterisk.verbose)
    await idle(app)


async def test_origin_reads_the_diversion_and_a_topic(server: tuple[AgiServer, int, Clock]) -> None:
    _, port, _ = server
    lines = environment("origin", "kfz", agi_extension="020394000", agi_rdnis="02064660")
    variables = (await asterisk_call(port, lines)).variables
    assert variables["STADTRUF_CLIENT"] == "dinslaken"
    assert variables["STADTRUF_ORIGIN_RULE"] == "diversion"
    assert variables["__STADTRUF_HEADER_X_TOPIC"] == "kfz"
    assert variables["CALLERID(name)"] == "[DIN] Kfz-Zulassung"


async def test_route_and_open_take_the_client_off_the_channel(
    server: tuple[AgiServer, int, Clock],
) -> None:
    _, port, clock = server
    replies = {"GET": ["200 result=1 (bottrop)"]}
    route = await asterisk_call(port, environment("route", "abfall"), replies=replies)
    assert route.commands[0] == ["GET", "VARIABLE", "STADTRUF_CLIENT"]
    assert route.variables["STADTRUF_ROUTE"] == "transfer:0204170350"
    assert route.variables["__STADTRUF_HEADER_X_TOPIC"] == "abfall"
    opened = await asterisk_call(port, environment("open"), replies=replies)
    assert opened.variables["STADTRUF_OPEN"] == "1"
    assert opened.variables["STADTRUF_OPEN_UNTIL"] == "2026-11-25T18:00:00+01:00"
    clock.now = WEDNESDAY_20
    closed = await asterisk_call(port, environment("open", "client=bottrop"))
    assert closed.variables["STADTRUF_OPEN"] == "0"
    assert closed.variables["STADTRUF_NEXT_OPEN"] == "2026-11-26T07:30:00+01:00"
    assert closed.variables["STADTRUF_CLOSED_ACTION"] == "callback"
    assert closed.variables["STADTRUF_AGI_STATUS"] == "OK"


@pytest.mark.parametrize(
    ("lines", "expected", "why"),
    [
        (environment("dance"), {}, "unknown command 'dance'"),
        (environment("route", "client=bottrop"), {}, "no topic given"),
        (environment("open"), {"STADTRUF_OPEN": "1"}, "no client"),
        (environment("origin", "colour=red"), {"STADTRUF_CLIENT": "duisburg"}, "unknown argument"),
        (
            [*environment("origin", agi_extension="02041700"), b"agi_calleridname: M\xfcller"],
            {"STADTRUF_CLIENT": "bottrop"},
            "agi_calleridname is not UTF-8",
        ),
        ([b"\xff\xfe garbage", b"GET / HTTP/1.0"], {}, "no AGI variable"),
    ],
    ids=["unknown-command", "no-topic", "open-without-client", "bad-argument", "latin1", "garbage"],
)
async def test_bad_input_gets_an_error_and_a_defined_result(
    server: tuple[AgiServer, int, Clock], lines: list[bytes], expected: dict[str, str], why: str
) -> None:
    app, port, _ = server
    asterisk = await asterisk_call(port, lines)
    variables = asterisk.variables
    assert variables["STADTRUF_AGI_STATUS"] == "ERROR"
    assert why in variables["STADTRUF_AGI_ERROR"]
    assert expected.items() <= variables.items()
    assert any(why in line for line in asterisk.verbose)
    await idle(app)


async def test_a_hangup_mid_command_ends_the_session_quietly(
    server: tuple[AgiServer, int, Clock],
) -> None:
    app, port, _ = server
    asterisk = await asterisk_call(port, environment("origin"), hangup_after=2)
    assert len(asterisk.commands) == 3  # the third got HANGUP; nothing was sent after it
    await idle(app)
    after = await asterisk_call(port, environment("origin", "dialled=02041700"))
    assert after.variables["STADTRUF_AGI_STATUS"] == "OK"


@pytest.mark.parametrize(
    "end",
    [b"", b"agi_callerid: 0203", b"\n"],
    ids=["closed-before-blank-line", "closed-mid-line", "closed-after-environment"],
)
async def test_a_peer_that_disconnects_ends_the_session(
    server: tuple[AgiServer, int, Clock], end: bytes
) -> None:
    app, port, _ = server
    _, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"agi_network: yes\nagi_network_script: origin\n" + end)
    await writer.drain()
    writer.close()  # gone before (or while) the server answers
    await writer.wait_closed()
    await idle(app)  # panoramisk's own reader would spin here forever
    after = await asterisk_call(port, environment("origin", "dialled=02041700"))
    assert after.variables["STADTRUF_CLIENT"] == "bottrop"


async def test_a_silent_peer_is_dropped_after_the_session_timeout(
    server: tuple[AgiServer, int, Clock],
) -> None:
    app, port, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"agi_network: yes\n")  # and then nothing
    await writer.drain()
    async with asyncio.timeout(4):
        assert await reader.read() == b""  # the server closed
    writer.close()
    await idle(app)


async def test_an_endless_line_is_refused(server: tuple[AgiServer, int, Clock]) -> None:
    app, port, _ = server
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"agi_callerid: " + b"9" * 10_000)
    await writer.drain()
    async with asyncio.timeout(4):
        rest = await reader.read()
    assert b"environment line longer than 4096 bytes" in rest  # then it gives up and closes
    writer.close()
    await idle(app)


@pytest.mark.parametrize(
    "value", ["plain", 'say "hi"', "back\\slash", "", "Zentrale 02041700 gewählt", 'a\\"b']
)
def test_quote_reads_back_through_asterisks_parser(value: str) -> None:
    assert parse_args(f"SET VARIABLE X {quote(value)}") == ["SET", "VARIABLE", "X", value]


async def test_a_dead_channel_511_ends_the_session_quietly(
    server: tuple[AgiServer, int, Clock],
) -> None:
    # The HANGUP line may already have been read: then only 511 tells us the channel is gone.
    app, port, _ = server
    dead = {"VERBOSE": ["511 Command Not Permitted on a dead channel or intercept routine"]}
    asterisk = await asterisk_call(port, environment("origin"), replies=dead)
    assert len(asterisk.commands) == 1
    await idle(app)
