"""The event loop of the long-running services (`serve`, `up`, `agi`): uvloop.

Most of the app's own CPU per call is the event loop's and the HTTP client's work around its
~26 ARI requests and their events (docs/benchmarks-flow.md); uvloop does the loop's and the
sockets' part in C (libuv). Behaviour is asyncio's: the same tasks, signals and subprocesses.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import uvloop

_T = TypeVar("_T")


def run(main: Coroutine[Any, Any, _T]) -> _T:
    """`asyncio.run(main)` on a uvloop event loop."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


__all__ = ["run"]
