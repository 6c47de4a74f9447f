"""Debian's sipvicious (svmap, svwar, svcrack) against the ServiceCenter, from a given address.

sipvicious 0.3.3's svwar and svcrack accept ``-b BINDINGIP`` but never hand it to their
scanner (svmap does), so every attack would come from 127.0.0.1. `run_tool` runs the tool's own
`main()` with the binding address set, so each attack in the tests comes from its own loopback
address of the test net, the address the ban must catch. Every run is bounded in time.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from dataclasses import dataclass

SIPVICIOUS = "/usr/share/sipvicious"
_CLASSES = {"svwar": "TakeASip", "svcrack": "ASipOfRedWine", "svmap": "DrinkOrSip"}

_RUNNER = """
import sys
sys.path.insert(0, {path!r})
from sipvicious import {tool} as tool
bind = sys.argv.pop(1)
cls = tool.{cls}
original = cls.__init__
def bound(self, *args, **kwargs):
    kwargs["bindingip"] = bind
    original(self, *args, **kwargs)
cls.__init__ = bound
sys.argv[0] = {tool!r}
sys.exit(tool.main())
"""


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    stopped: bool = False  # ran into the time bound and was killed


def available() -> bool:
    return shutil.which("svcrack") is not None


async def run_tool(tool: str, source: str, *args: str, timeout: float = 60.0) -> Run:
    """Run sipvicious' `tool` from `source` with `args`; its stdout and stderr together.

    Killed after `timeout` seconds (`Run.stopped`): svcrack answered 403 (banned) resends
    its request without end, so a ban during its run would otherwise never let it finish."""
    code = _RUNNER.format(path=SIPVICIOUS, tool=tool, cls=_CLASSES[tool])
    # Debian's interpreter: the one sipvicious is packaged for, not the venv's.
    python = "/usr/bin/python3" if shutil.which("/usr/bin/python3") else sys.executable
    process = await asyncio.create_subprocess_exec(
        python,
        "-c",
        code,
        source,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    chunks: list[bytes] = []

    async def read() -> None:
        assert process.stdout is not None
        while chunk := await process.stdout.read(65536):
            chunks.append(chunk)

    reader = asyncio.create_task(read())
    stopped = False
    try:
        async with asyncio.timeout(timeout):
            await process.wait()
    except TimeoutError:
        stopped = True
        process.kill()
        await process.wait()
    await reader
    return Run(process.returncode or 0, b"".join(chunks).decode(errors="replace"), stopped)
