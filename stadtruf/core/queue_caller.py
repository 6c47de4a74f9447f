"""What a caller waiting in the queue hears and may do: announcements, callback, voicemail.

Pure rules the queue adapter (`ari_app.queue`) follows; it only plays, records and stores.

- Announcement: the entry sentence once (the first time), then place and expected wait, then
  the callback hint where the caller may press 1 for a callback.
- Callback: offered where the queue's overflow is a callback; it needs a number we can call
  (`normalize`). While waiting, "1" leaves the line at once; at the maximum wait the caller
  is asked and only "1" within `CALLBACK_OFFER_TIMEOUT` s stores it.
- Voicemail: a message shorter than `VOICEMAIL_MIN_S` is a hang-up at the beep, not a message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from stadtruf.config.agents import OverflowAction, OverflowCallback
from stadtruf.core.numbers import normalize
from stadtruf.core.prompts import SpokenText
from stadtruf.core.queue_prompts import callback_hint, entry_announcement, position_announcement

CALLBACK_DIGIT = "1"
CALLBACK_OFFER_TIMEOUT = 10.0  # seconds to press 1 after the offer at the maximum wait
VOICEMAIL_END_DIGIT = "#"
VOICEMAIL_SILENCE_S = 10  # a caller silent this long is done (or has put the phone down)
VOICEMAIL_MIN_S = 1  # shorter is a hang-up at the beep, not a message
VOICEMAIL_SETTLE_S = 3.0  # after a hang-up, how long Asterisk may take to close the file
# Past the longest message and the silence that ends it, the recording's end event is lost.
VOICEMAIL_END_SLACK_S = 5.0


def offers_callback(overflow: OverflowAction | None) -> bool:
    """Whether callers in a queue with this overflow may press 1 for a callback."""
    return isinstance(overflow, OverflowCallback)


def announcement(
    position: int,
    expected_wait_s: int | None,
    language: str,
    *,
    first: bool,
    callback: bool,
    caller_number: str,
) -> tuple[SpokenText, ...]:
    """What a waiting caller hears at an announcement (`callback`: the queue offers one)."""
    texts: tuple[SpokenText, ...] = entry_announcement(language) if first else ()
    texts += position_announcement(position, expected_wait_s, language)
    if callback and caller_number:
        texts += callback_hint(language)
    return texts


CallbackStep = Literal["apologise_and_wait", "apologise_and_hang_up", "ask", "confirm"]


@dataclass(frozen=True)
class CallbackPlan:
    """How a callback request goes: `number` to call back (None: none came with the call)."""

    step: CallbackStep
    number: str | None


def callback_plan(caller_number: str, *, while_waiting: bool) -> CallbackPlan:
    """The caller pressed 1 while waiting (`while_waiting`), or reached the maximum wait.

    Without a number we can call: the apology, then keep waiting (while waiting) or goodbye.
    While waiting the request is taken at once (the caller leaves the line); at the maximum
    wait the caller is asked first.
    """
    number = normalize(caller_number)
    if number is None:
        return CallbackPlan(
            "apologise_and_wait" if while_waiting else "apologise_and_hang_up", None
        )
    return CallbackPlan("confirm" if while_waiting else "ask", number)


def voicemail_max_duration_s(max_length: float) -> int:
    """Asterisk records whole seconds; never cut a message short of the configured length."""
    return math.ceil(max_length)


def voicemail_end_within_s(max_length: float) -> float:
    """How long to wait for a recording's end before asking Asterisk for the file."""
    return max_length + VOICEMAIL_SILENCE_S + VOICEMAIL_END_SLACK_S


def voicemail_kept(stored: bool, seconds: float | None) -> bool:
    """Whether a recording is a message (kept) or a hang-up at the beep (deleted).

    `seconds` None: Asterisk stored it without telling its length; keep it.
    """
    return stored and (seconds is None or seconds >= VOICEMAIL_MIN_S)


@dataclass(frozen=True)
class TransferDestination:
    """Where the transfer dialplan sends a call: a number's extension, or the endpoint."""

    extension: str
    endpoint: str | None  # for the extension "endpoint": the endpoint to dial, e.g. PJSIP/wbd


def transfer_destination(target: str) -> TransferDestination:
    """A phone number is dialled as such; anything else is an endpoint (e.g. PJSIP/wbd)."""
    number = normalize(target)
    if number is not None:
        return TransferDestination(number, None)
    return TransferDestination("endpoint", target)


__all__ = [
    "CALLBACK_DIGIT",
    "CALLBACK_OFFER_TIMEOUT",
    "VOICEMAIL_END_DIGIT",
    "VOICEMAIL_MIN_S",
    "VOICEMAIL_SETTLE_S",
    "VOICEMAIL_SILENCE_S",
    "CallbackPlan",
    "CallbackStep",
    "TransferDestination",
    "announcement",
    "callback_plan",
    "offers_callback",
    "transfer_destination",
    "voicemail_end_within_s",
    "voicemail_kept",
    "voicemail_max_duration_s",
]
