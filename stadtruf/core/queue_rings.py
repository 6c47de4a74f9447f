"""How the queue rings an agent, and how it reads the ring's end: pure rules for the adapter.

A ring is a channel the queue originates to the agent's endpoint, named ``stadtruf-ring-…``
so the agent's device state can leave our own rings out. A ring channel destroyed before the
agent answered says why with its Q.850 cause:

====================  ===========  ==================================
Q.850 cause           ring end     engine event
====================  ===========  ==================================
18, 19 (no answer)    timeout      `RingTimedOut` (a miss)
17, 21 (busy, reject) busy         `RingFailed(cause="busy")`
anything else         unreachable  `RingFailed(cause="unreachable")`
====================  ===========  ==================================
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Literal

from stadtruf.core.queue_events import RingFailed, RingTimedOut

RING_PREFIX = "stadtruf-ring-"

RingEnd = Literal["timeout", "busy", "unreachable"]

_NO_ANSWER = frozenset({18, 19})
_BUSY = frozenset({17, 21})


def ring_end(cause: int | None) -> RingEnd:
    """Why a ring ended unanswered, from the channel's Q.850 hang-up cause."""
    if cause in _NO_ANSWER:
        return "timeout"
    if cause in _BUSY:
        return "busy"
    return "unreachable"


def ring_ended(agent: str, call: str, cause: int | None, now: float) -> RingTimedOut | RingFailed:
    """The engine event for a ring that ended unanswered with `cause`."""
    match ring_end(cause):
        case "timeout":
            return RingTimedOut(agent, call, now=now)
        case "busy":
            return RingFailed(agent, call, now=now, cause="busy")
        case _:
            return RingFailed(agent, call, now=now, cause="unreachable")


def ring_seconds(timeout: float) -> int:
    """ARI dials whole seconds, at least one."""
    return max(1, math.ceil(timeout))


def is_ring(channel_id: str) -> bool:
    return channel_id.startswith(RING_PREFIX)


def device_busy(channel_ids: Iterable[str], adopted: frozenset[str] = frozenset()) -> bool:
    """Whether the agent's phone is in a call the queue did not make.

    Our own rings and conversations show on the endpoint too and do not count, except a
    conversation adopted after a restart (`adopted`): the engine does not know it.
    """
    return any(not is_ring(c) or c in adopted for c in channel_ids)


def ring_caller_id(caller_id_name: str, caller_number: str) -> str:
    """The caller ID the agent's phone shows (a double quote would end the name early)."""
    name = caller_id_name.replace('"', "'")
    return f'"{name}" <{caller_number}>'


def ring_variables(
    sip_headers: Mapping[str, str], call: str, topic: str, transfer_context: str
) -> dict[str, str]:
    """Channel variables of the ring: the annotation as SIP headers, and what the agent's
    blind transfer needs (the transfer dialplan dials on with the caller's annotation)."""
    variables = {f"PJSIP_HEADER(add,{name})": value for name, value in sip_headers.items()}
    variables["STADTRUF_CALL"] = call
    variables["STADTRUF_TOPIC"] = topic
    variables["TRANSFER_CONTEXT"] = transfer_context
    return variables


__all__ = [
    "RING_PREFIX",
    "RingEnd",
    "device_busy",
    "is_ring",
    "ring_caller_id",
    "ring_end",
    "ring_ended",
    "ring_seconds",
    "ring_variables",
]
