"""Sinks for the calls' life events (`stadtruf.core.lifecycle.Happened`), and their fan-out.

The call flow (`MenuFlow(sink=…)`) and the queue (`CallDistributor(sink=…)`) each take one
sink; `fan_out` makes one of several (the log line, the live figures, the call records).
"""

from __future__ import annotations

from collections.abc import Callable

import structlog

from stadtruf.core.lifecycle import Happened

log = structlog.get_logger(__name__)

Sink = Callable[[Happened], None]


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
