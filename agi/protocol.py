"""The FastAGI wire, on panoramisk 1.4, with its pitfalls fenced in one place.

panoramisk's `Request.send_command` writes a command and parses Asterisk's reply
(`panoramisk.utils.parse_agi_result`), but reports failures as dicts, e.g.
``{'error': 'AGIResultHangup'}``, raises ``ValueError`` at a closed connection (it parses the
empty read as a status code) and ``UnicodeDecodeError`` at a non-UTF-8 byte. `command` is the one
function that turns all of that into `AgiError`s. Its `Application.handler` reads the
environment with a loop that spins at EOF, so `read_environment` reads it instead (line by line,
bounded in size; the caller bounds the time).

Asterisk's replies, as seen on the wire::

    200 result=1                 SET VARIABLE, VERBOSE
    200 result=1 (bottrop)       GET VARIABLE of a set variable; result=0 if unset
    HANGUP                       the caller hung up (sent in between, AGISIGHUP)
    511 Command Not Permitted on a dead channel or intercept routine
    510 Invalid or unknown command
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from panoramisk.fast_agi import Request

# Longest environment line we read; Asterisk's are short, anything longer is not Asterisk.
MAX_LINE = 4096
MAX_LINES = 200
COMMAND_TIMEOUT = 5.0  # Asterisk answers a SET VARIABLE at once; a silent peer is gone


class AgiError(Exception):
    """Base of the FastAGI errors; the session ends."""


class AgiHangup(AgiError):
    """The channel hung up (HANGUP, 511) or the connection closed: end quietly."""


class AgiCommandFailed(AgiError):
    """Asterisk refused a command (510, 520, result=-1)."""


class AgiProtocolError(AgiError):
    """The peer does not speak AGI (line too long, too many lines, no reply in time)."""


@dataclass(frozen=True)
class AgiResult:
    code: int
    result: str  # "1" of "200 result=1 (bottrop)"
    data: str  # "bottrop"


async def read_environment(reader: asyncio.StreamReader) -> list[bytes]:
    """The environment's lines up to the blank line; `AgiHangup` at EOF before it."""
    lines: list[bytes] = []
    while True:
        try:
            line = await reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as exc:
            raise AgiHangup("connection closed before the AGI environment ended") from exc
        except asyncio.LimitOverrunError as exc:
            raise AgiProtocolError(f"environment line longer than {MAX_LINE} bytes") from exc
        if not line.strip(b"\r\n"):
            return lines
        lines.append(line)
        if len(lines) > MAX_LINES:
            raise AgiProtocolError(f"more than {MAX_LINES} environment lines")


def quote(value: str) -> str:
    """One AGI argument as Asterisk's `parse_args` reads it back: in quotes, backslash escapes
    quote and backslash; no line break (it would end the command)."""
    text = " ".join(value.splitlines())
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


async def command(request: Request, line: str, *, within: float = COMMAND_TIMEOUT) -> AgiResult:
    """Send one AGI command; its reply, or the `AgiError` that ends the session."""
    try:
        async with asyncio.timeout(within):
            reply: dict[str, Any] = await request.send_command(line)
    except TimeoutError as exc:
        raise AgiProtocolError(f"no reply to {line.split(' ', 2)[:2]} within {within} s") from exc
    except (ConnectionError, asyncio.IncompleteReadError) as exc:
        raise AgiHangup(f"connection lost: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise AgiProtocolError(f"reply is not UTF-8: {exc}") from exc
    except ValueError as exc:  # int("") of an empty read: the peer closed
        if request.reader.at_eof():
            raise AgiHangup("connection closed") from exc
        raise AgiProtocolError(f"unreadable reply: {exc}") from exc
    error = reply.get("error")
    code = int(reply.get("status_code", 0))
    if error == "AGIResultHangup" or code == 511:
        raise AgiHangup(str(reply.get("msg") or "channel hung up"))
    if error is not None:
        raise AgiCommandFailed(f"{error}: {reply.get('msg', '')}".strip())
    value, data = reply.get("result", ("", ""))
    return AgiResult(code, str(value), str(data or ""))
