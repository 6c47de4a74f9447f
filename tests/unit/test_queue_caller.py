"""What a waiting caller hears and may do, and how a ring is read: the queue adapter's rules."""

from __future__ import annotations

import pytest

from stadtruf.config.agents import (
    OverflowAction,
    OverflowCallback,
    OverflowQueue,
    OverflowTransfer,
    OverflowVoicemail,
)
from stadtruf.core import queue as q
from stadtruf.core.queue_caller import (
    CallbackPlan,
    TransferDestination,
    announcement,
    callback_plan,
    offers_callback,
    transfer_destination,
    voicemail_end_within_s,
    voicemail_kept,
    voicemail_max_duration_s,
)
from stadtruf.core.queue_prompts import callback_hint, entry_announcement, position_announcement
from stadtruf.core.queue_rings import (
    RING_PREFIX,
    device_busy,
    ring_caller_id,
    ring_end,
    ring_ended,
    ring_seconds,
    ring_variables,
)


@pytest.mark.parametrize(
    ("overflow", "offered"),
    [
        (OverflowCallback(callback=True), True),
        (OverflowVoicemail(voicemail=True), False),
        (OverflowQueue(queue="kfz"), False),
        (OverflowTransfer(transfer="0201123"), False),
        (None, False),
    ],
)
def test_a_callback_is_offered_where_the_overflow_is_one(
    overflow: OverflowAction | None, offered: bool
) -> None:
    assert offers_callback(overflow) is offered


@pytest.mark.parametrize(
    ("first", "callback", "number", "expected"),
    [
        (True, False, "0201", (*entry_announcement("de"), *position_announcement(3, 60, "de"))),
        (False, False, "0201", position_announcement(3, 60, "de")),
        (False, True, "0201", (*position_announcement(3, 60, "de"), *callback_hint("de"))),
        # Without a number the hint would promise what cannot be kept.
        (False, True, "", position_announcement(3, 60, "de")),
    ],
)
def test_announcement_entry_once_then_place_and_wait_then_hint(
    first: bool, callback: bool, number: str, expected: tuple[object, ...]
) -> None:
    said = announcement(3, 60, "de", first=first, callback=callback, caller_number=number)
    assert said == expected


@pytest.mark.parametrize(
    ("number", "while_waiting", "plan"),
    [
        ("02041 123456", True, CallbackPlan("confirm", "02041123456")),
        ("02041 123456", False, CallbackPlan("ask", "02041123456")),
        ("", True, CallbackPlan("apologise_and_wait", None)),
        ("", False, CallbackPlan("apologise_and_hang_up", None)),
        ("anonymous", False, CallbackPlan("apologise_and_hang_up", None)),
    ],
)
def test_callback_plan(number: str, while_waiting: bool, plan: CallbackPlan) -> None:
    assert callback_plan(number, while_waiting=while_waiting) == plan


@pytest.mark.parametrize(
    ("stored", "seconds", "kept"),
    [
        (True, 12.0, True),
        (True, 1.0, True),
        (True, 0.4, False),  # a hang-up at the beep
        (True, None, True),  # length unknown: keep it
        (False, None, False),
        (False, 30.0, False),
    ],
)
def test_a_voicemail_is_kept_from_one_second(
    stored: bool, seconds: float | None, kept: bool
) -> None:
    assert voicemail_kept(stored, seconds) is kept


def test_voicemail_lengths() -> None:
    assert voicemail_max_duration_s(120) == 120
    assert voicemail_max_duration_s(7.2) == 8
    assert voicemail_end_within_s(60) == 75


@pytest.mark.parametrize(
    ("target", "destination"),
    [
        ("0201 123456", TransferDestination("0201123456", None)),
        ("PJSIP/wbd", TransferDestination("endpoint", "PJSIP/wbd")),
    ],
)
def test_transfer_destination(target: str, destination: TransferDestination) -> None:
    assert transfer_destination(target) == destination


@pytest.mark.parametrize(
    ("cause", "reason", "event"),
    [
        (19, "timeout", q.RingTimedOut("a", "c", now=5)),
        (18, "timeout", q.RingTimedOut("a", "c", now=5)),
        (17, "busy", q.RingFailed("a", "c", now=5, cause="busy")),
        (21, "busy", q.RingFailed("a", "c", now=5, cause="busy")),
        (20, "unreachable", q.RingFailed("a", "c", now=5, cause="unreachable")),
        (0, "unreachable", q.RingFailed("a", "c", now=5, cause="unreachable")),
        (None, "unreachable", q.RingFailed("a", "c", now=5, cause="unreachable")),
    ],
)
def test_q850_cause_of_an_unanswered_ring(cause: int | None, reason: str, event: q.Event) -> None:
    assert ring_end(cause) == reason
    assert ring_ended("a", "c", cause, 5) == event


def test_ring_details() -> None:
    assert ring_seconds(15) == 15
    assert ring_seconds(0.2) == 1
    assert ring_seconds(7.5) == 8
    assert ring_caller_id('[BOT] "Kfz"', "0201") == "\"[BOT] 'Kfz'\" <0201>"
    assert ring_variables({"X-Topic": "kfz"}, "c1", "kfz", "ctx") == {
        "PJSIP_HEADER(add,X-Topic)": "kfz",
        "STADTRUF_CALL": "c1",
        "STADTRUF_TOPIC": "kfz",
        "TRANSFER_CONTEXT": "ctx",
    }


@pytest.mark.parametrize(
    ("channels", "adopted", "busy"),
    [
        ((), frozenset(), False),
        ((f"{RING_PREFIX}1",), frozenset(), False),  # our own ring
        (("1795.7",), frozenset(), True),  # a call the queue did not make
        ((f"{RING_PREFIX}1",), frozenset({f"{RING_PREFIX}1"}), True),  # talking since a restart
    ],
)
def test_device_busy_leaves_our_rings_out(
    channels: tuple[str, ...], adopted: frozenset[str], busy: bool
) -> None:
    assert device_busy(channels, adopted) is busy
