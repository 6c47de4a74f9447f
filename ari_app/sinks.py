"""Sinks for the calls' life events (`stadtruf.core.lifecycle.Happened`), and their fan-out.

The call flow (`MenuFlow(sink=…)`) and the queue (`CallDistributor(sink=…)`) each take one
sink; `fan_out` makes one of several (the log line, the live figures, the call records).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec

import structlog

from stadtruf.core.lifecycle import Happened

log = structlog.get_logger(__name__)

Sink = Callable[[Happened], None]
P = ParamSpec("P")


def fan_out(*sinks: Sink) -> Sink:
    """One sink that hands each event to every one of `sinks`, in order. A sink that fails
    is logged and loses only that event: the others and the call go on."""

    def each(happened: Happened) -> None:
        for sink in sinks:
            try:
                sink(happened)
            except Exception:
                log.exception(
                    "call.life_sink_failed",
                    sink=getattr(sink, "__qualname__", repr(sink)),
                    what=type(happened.event).__name__,
                    call=happened.call_id,
                )

    return each


class SinkGate:
    """Lets a call's life through until `close()`: after a hand-over to the next process
    (`StasisApplication.hand_over`), what the cancelled tasks report (an `Ended`, a wrap-up)
    is not what happened to the calls, which go on there."""

    def __init__(self) -> None:
        self.open = True

    def close(self) -> None:
        self.open = False

    def guard(self, sink: Callable[P, None]) -> Callable[P, None]:
        def gated(*args: P.args, **kwargs: P.kwargs) -> None:
            if self.open:
                sink(*args, **kwargs)

        return gated
