"""The call flow's effects: what the runtime (`ari_app.call`, `stadtruf simulate`) does for
`stadtruf.core.callflow`, in order. Kept apart so the flow itself stays readable."""

from __future__ import annotations

from dataclasses import dataclass, field

from stadtruf.config.agents import DialledKind
from stadtruf.config.model import Prompt
from stadtruf.core.lifecycle import LifeEvent
from stadtruf.core.menu import (
    CancelDigitTimer,
    PlayPrompt,
    SetLanguage,
    StartDigitTimer,
    StopPrompt,
)

# --- Effects --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    pass


@dataclass(frozen=True)
class SetVariable:
    name: str
    value: str


@dataclass(frozen=True)
class PlayToEnd:
    """The route's prompt ("Wir verbinden Sie …"): played whole, keys ignored."""

    prompt: Prompt
    language: str
    playback_id: int


@dataclass(frozen=True)
class Queue:
    """Wait for an agent on `topic`; what the queue needs to know about the caller."""

    topic: str
    language: str
    client_id: str | None
    client_name: str | None
    topic_name: str | None
    dialled: DialledKind | None
    caller_number: str
    caller_id_name: str
    sip_headers: dict[str, str] = field(default_factory=dict)
    closed_action: str | None = None  # voicemail/callback on a closed line: not a wait
    # Back in line after a restart: first queued then (seconds since the epoch), the place kept.
    queued_at: float | None = None


@dataclass(frozen=True)
class Transfer:
    """Continue in the dialplan's transfer context at `extension` (a national number, or
    `TRANSFER_ENDPOINT_EXTENSION` with the endpoint in `TRANSFER_ENDPOINT_VARIABLE`)."""

    target: str
    extension: str


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class Emit:
    event: LifeEvent


Effect = (
    Answer
    | SetVariable
    | PlayPrompt
    | StopPrompt
    | StartDigitTimer
    | CancelDigitTimer
    | SetLanguage
    | PlayToEnd
    | Queue
    | Transfer
    | Hangup
    | Emit
)
FINAL = (Queue, Transfer, Hangup)
