"""Service-level figures from queue waits, and the expected wait announced to a caller. Pure.

Input is one `Wait` per caller who left the queue: how long they waited and whether an agent
answered (`answered`) or they hung up first (`answered=False`, an abandoned call). Callers sent
on by overflow are counted by the caller of these functions as they see fit: they are neither
answered nor abandoned, so leave them out or pass them as abandoned (stricter).

Service level (SL) has several definitions in the trade; we compute

    SL = answered within T / (answered + abandoned after T)          (the default)

i.e. callers who hang up within T seconds are left out of the count: they did not wait long
enough to be failed by us (this is app_queue's `servicelevel` view without short abandons and
the usual reading of "80 % in 30 s"). With `count_abandoned="all"` every abandoned call counts
against the SL (strict), with `"none"` abandoned calls are ignored entirely (lenient, the
figure many ACD wallboards show). Targets in our domain: Kreis Wesel 80 % in 30 s, Leipzig
90 % in 20 s, the 115 promise 75 % in 30 s (`TARGETS`).

The figures of call records per client, topic and interval (report, API, metrics) are in
`service_figures`: the same rule with `count_abandoned="all"` after taking out the short
abandons (a threshold of their own, `service_level.short_abandon_s` in the config), and each
client's target from its config (`Client.service_level`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

AbandonedRule = Literal["after_threshold", "all", "none"]

# Used for the estimate before any call of the queue has been handled.
DEFAULT_HANDLE_TIME = 180.0


@dataclass(frozen=True)
class Wait:
    waited: float  # seconds from joining the queue to answer or hang-up
    answered: bool


@dataclass(frozen=True)
class Target:
    """A service-level promise: `share` of calls answered within `seconds`."""

    share: float  # 0..1
    seconds: float


TARGETS = {
    "115": Target(0.75, 30),
    "kreis-wesel": Target(0.80, 30),
    "leipzig": Target(0.90, 20),
}


def service_level(
    waits: Sequence[Wait], threshold: float, count_abandoned: AbandonedRule = "after_threshold"
) -> float | None:
    """Share (0..1) of calls answered within `threshold` s; None when no call counts.

    `count_abandoned` (see the module docstring): `after_threshold` (default) counts callers
    who hung up after waiting longer than `threshold` as failures and ignores short abandons;
    `all` counts every abandoned call as a failure; `none` ignores abandoned calls.
    """
    answered = [w for w in waits if w.answered]
    abandoned = [w for w in waits if not w.answered]
    if count_abandoned == "all":
        failed_abandons = len(abandoned)
    elif count_abandoned == "none":
        failed_abandons = 0
    else:
        failed_abandons = sum(1 for w in abandoned if w.waited > threshold)
    total = len(answered) + failed_abandons
    if total == 0:
        return None
    return sum(1 for w in answered if w.waited <= threshold) / total


def meets(
    waits: Sequence[Wait], target: Target, count_abandoned: AbandonedRule = "after_threshold"
) -> bool | None:
    """Whether `target` was met; None when nothing was measured."""
    level = service_level(waits, target.seconds, count_abandoned)
    return None if level is None else level >= target.share


def average_speed_of_answer(waits: Sequence[Wait]) -> float | None:
    """ASA: mean wait of answered calls (abandoned ones are not in it); None without any."""
    answered = [w.waited for w in waits if w.answered]
    return sum(answered) / len(answered) if answered else None


def abandon_rate(waits: Sequence[Wait], grace: float = 0.0) -> float | None:
    """Share of callers who hung up while waiting; those within `grace` s are left out of
    both counts (they hung up before anyone could have answered). None without any call."""
    counted = [w for w in waits if w.answered or w.waited > grace]
    if not counted:
        return None
    return sum(1 for w in counted if not w.answered) / len(counted)


def expected_wait(
    position: int,
    staffed: int,
    handle_times: Sequence[float] = (),
    *,
    free: int = 0,
    default_handle: float = DEFAULT_HANDLE_TIME,
) -> float | None:
    """Seconds a caller at `position` (1 = next) can expect to wait; None if nobody is staffed.

    A simple, explainable estimate, not Erlang C: `staffed` agents work the queue, `free` of
    them are ready now, and a call keeps an agent for the mean of the recent `handle_times`
    (talk plus wrap-up), `default_handle` while there are none. The first `free` callers are
    answered at once; after that one agent frees up every h/staffed seconds on average, so

        expected = max(0, position - free) · h / staffed

    It is what the caller hears ("about 3 minutes"), so it errs on the simple side.
    """
    if staffed <= 0 or position <= 0:
        return None
    handle = sum(handle_times) / len(handle_times) if handle_times else default_handle
    ahead = max(0, position - max(0, free))
    return ahead * handle / staffed


def whole_seconds(seconds: float | None) -> int | None:
    """Round an estimate up, so that a caller is not promised less than we expect."""
    return None if seconds is None else math.ceil(seconds)
