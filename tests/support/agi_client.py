"""A scripted Asterisk for FastAGI tests: sends the environment, answers every command.

It reads each command the server sends, parses its arguments as Asterisk's `parse_args`
(res_agi.c) does, records it, and replies with `200 result=1` unless the script says otherwise
(`replies`: command word → reply line(s), e.g. ``{"GET": ["200 result=1 (bottrop)"]}``, or a
`hangup_after` count, after which it answers ``HANGUP`` and ``511`` as a hung-up channel does).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field


def parse_args(line: str) -> list[str]:
    """Asterisk's res_agi.c `parse_args`: quotes group, backslash escapes the next character."""
    args: list[str] = []
    current: list[str] | None = None
    quoted = escaped = False
    for char in line:
        if char == '"' and not escaped:
            quoted = not quoted
            if quoted and current is None:
                current = []
            continue
        if char in " \t" and not quoted and not escaped:
            if current is not None:
                args.append("".join(current))
            current = None
            continue
        if char == "\\" and not escaped:
            escaped = True
            continue
        if current is None:
            current = []
        current.append(char)
        escaped = False
    if current is not None:
        args.append("".join(current))
    return args


def environment(script: str, *args: str, **env: str) -> list[bytes]:
    """Asterisk's lines for `AGI(agi://host/script,args…)`, with `env` replacing defaults."""
    values = {
        "agi_network": "yes",
        "agi_network_script": script,
        "agi_request": f"agi://127.0.0.1/{script}",
        "agi_channel": "PJSIP/carrier-00000001",
        "agi_language": "de",
        "agi_type": "PJSIP",
        "agi_uniqueid": "1700000000.1",
        "agi_callerid": "0203555333",
        "agi_calleridname": "unknown",
        "agi_dnid": "unknown",
        "agi_rdnis": "unknown",
        "agi_context": "stadtruf-fastagi",
        "agi_extension": "s",
        "agi_priority": "3",
    }
    values.update(env)
    lines = [f"{k}: {v}".encode() for k, v in values.items()]
    lines += [f"agi_arg_{i}: {a}".encode() for i, a in enumerate(args, 1)]
    return lines


@dataclass
class ScriptedAsterisk:
    """One AGI() call against a FastAGI server."""

    host: str
    port: int
    replies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    hangup_after: int | None = None  # answer this many commands, then the channel hangs up
    commands: list[list[str]] = field(default_factory=list)

    @property
    def variables(self) -> dict[str, str]:
        """The SET VARIABLE commands received, as Asterisk would have set them."""
        return {c[2]: c[3] for c in self.commands if c[:2] == ["SET", "VARIABLE"] and len(c) == 4}

    @property
    def verbose(self) -> list[str]:
        return [c[1] for c in self.commands if c[:1] == ["VERBOSE"]]

    async def call(
        self, lines: Sequence[bytes], *, end: bytes = b"\n", timeout: float = 5.0
    ) -> None:
        """Send `lines` and `end` (the blank line), answer until the server closes."""
        reader, writer = await asyncio.open_connection(self.host, self.port)
        try:
            writer.write(b"".join(line + b"\n" for line in lines) + end)
            await writer.drain()
            async with asyncio.timeout(timeout):
                await self._answer(reader, writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while line := await reader.readline():
            args = parse_args(line.decode().rstrip("\n"))
            self.commands.append(args)
            if self.hangup_after is not None and len(self.commands) > self.hangup_after:
                writer.write(
                    b"HANGUP\n511 Command Not Permitted on a dead channel or intercept routine\n"
                )
            else:
                reply = self.replies.get(args[0] if args else "", ["200 result=1"])
                writer.write("".join(r + "\n" for r in reply).encode())
            with contextlib.suppress(ConnectionError):
                await writer.drain()
