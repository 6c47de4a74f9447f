"""A call's state as a fresh process needs it to go on with the call: small, versioned JSON.

Asterisk is the store of record (as in wazo-calld): the adapters keep the snapshot in the
channel variable `SNAPSHOT_VARIABLE`, rewritten when it changes (another menu, the queue,
the conversation), and a restarted app reads it back for each channel it adopts. Whatever
is in the variable is read defensively: an unknown version or a mangled value gives None
(the call starts over), never an exception.

Stages:

- ``menu``: in the town menu (``town``) or the client's menu ``menu``, with the way back
  (``stack``), the language and how many prompts it may still play (the per-call limit
  holds across the restart).
- ``queue``: waiting on ``topic`` since ``queued_at`` (seconds since the epoch): the place in
  line is kept by that time.
- ``talking``: bridged with ``agent`` in ``bridge`` since ``answered_at``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

SNAPSHOT_VARIABLE = "STADTRUF_STATE"
SNAPSHOT_VERSION = 1

Stage = Literal["menu", "queue", "talking"]
_STAGES = frozenset(get_args(Stage))


@dataclass(frozen=True)
class Snapshot:
    stage: Stage
    client: str | None = None
    language: str | None = None  # the call's language (the menu's, or the queue's)
    chosen_language: str | None = None  # chosen in the town menu
    town: bool = False  # in the service center's town menu, not a client's
    menu: str | None = None
    stack: tuple[str, ...] = ()
    prompts_left: int | None = None  # None: the menu's full limit
    topic: str | None = None
    queued_at: float | None = None
    agent: str | None = None
    bridge: str | None = None
    answered_at: float | None = None


def dumps(snapshot: Snapshot) -> str:
    """The snapshot as compact JSON, fields at their default left out (a channel variable)."""
    data: dict[str, Any] = {"v": SNAPSHOT_VERSION}
    default = Snapshot(snapshot.stage)
    for name, value in asdict(snapshot).items():
        if name == "stage" or value != getattr(default, name):
            data[name] = list(value) if isinstance(value, tuple) else value
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def loads(text: str | None) -> Snapshot | None:
    """The snapshot in `text`, or None: empty, not ours, another version, or mangled."""
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("v") != SNAPSHOT_VERSION:
        return None
    if data.get("stage") not in _STAGES:
        return None
    try:
        return Snapshot(
            stage=data["stage"],
            client=_text(data.get("client")),
            language=_text(data.get("language")),
            chosen_language=_text(data.get("chosen_language")),
            town=data.get("town") is True,
            menu=_text(data.get("menu")),
            stack=tuple(_texts(data.get("stack", []))),
            prompts_left=_count(data.get("prompts_left")),
            topic=_text(data.get("topic")),
            queued_at=_number(data.get("queued_at")),
            agent=_text(data.get("agent")),
            bridge=_text(data.get("bridge")),
            answered_at=_number(data.get("answered_at")),
        )
    except _Mangled:
        return None


class _Mangled(Exception):
    pass


def _text(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise _Mangled
    return value


def _texts(value: object) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _Mangled
    return list(value)


def _count(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Mangled
    return value


def _number(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Mangled
    return float(value)
