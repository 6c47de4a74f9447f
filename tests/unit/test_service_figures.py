"""Service figures from call records (core.service_figures): table tests and properties."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stadtruf.core.service_figures import (
    BERLIN,
    INTERVALS,
    Facts,
    LocalClock,
    Rules,
    Tally,
    aggregate,
    days_of,
    figures,
    merged,
    period,
)

RULES = Rules(threshold_s=30, short_abandon_s=5)
T0 = datetime(2026, 10, 1, 9, 0, tzinfo=BERLIN).timestamp()


def call(
    outcome: str = "answered",
    wait: float | None = 10.0,
    *,
    queued: bool = True,
    talk: float | None = 100.0,
    wrap: float | None = 20.0,
    by: str | None = None,
    target: str | None = None,
    at: float = T0,
    client: str | None = "bottrop",
    topic: str | None = "kfz",
) -> Facts:
    return Facts(
        client,
        topic,
        at,
        at + 200,
        outcome,
        at + 10 if queued else None,
        wait if queued else None,
        talk if outcome == "answered" else None,
        wrap if outcome == "answered" else None,
        by,
        target,
    )


def tally(*calls: Facts, rules: Rules = RULES) -> Tally:
    t = Tally()
    for c in calls:
        t.add(c, rules)
    return t


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        # answered within 30 s (30 s itself included), and after
        (call(wait=30.0), {"offered": 1, "answered": 1, "answered_within": 1}),
        (call(wait=30.5), {"offered": 1, "answered": 1, "answered_within": 0}),
        # short abandon (< 5 s) and a long one; ringing counts as abandoned too
        (call("abandoned_queue", 4.9), {"abandoned": 1, "short_abandoned": 1}),
        (call("abandoned_queue", 5.0), {"abandoned": 1, "short_abandoned": 0}),
        (call("abandoned_ringing", 40), {"abandoned": 1, "short_abandoned": 0}),
        # left the queue otherwise: offered, neither answered nor abandoned
        (call("overflow", 120), {"offered": 1, "answered": 0, "abandoned": 0}),
        (call("callback", 60), {"offered": 1}),
        # menu-only calls: counted as calls, never offered
        (call("transferred", queued=False), {"calls": 1, "offered": 0}),
        (call("closed", queued=False), {"calls": 1, "offered": 0}),
        (call("abandoned_menu", queued=False), {"offered": 0, "abandoned": 0}),
        # first level: an agent's transfer to an office number is not; to a colleague it is
        (call(by="agent", target="02032830"), {"first_level": 0}),
        (call(by="agent", target="agent-102"), {"first_level": 1}),
    ],
)
def test_one_call(facts: Facts, expected: dict[str, int]) -> None:
    t = tally(facts)
    assert t.calls == 1
    for name, value in expected.items():
        assert getattr(t, name) == value, name


def test_figures_of_a_small_day() -> None:
    t = tally(
        call(wait=10, talk=100, wrap=20),
        call(wait=20, talk=200, wrap=None),
        call(wait=50, talk=300, wrap=40, by="agent", target="02032830"),
        call("abandoned_queue", 2),  # short: out of the service level
        call("abandoned_queue", 45),
        call("overflow", 90),
        call("transferred", queued=False),
    )
    f = figures(t)
    assert (f.calls, f.offered, f.answered, f.answered_within) == (7, 6, 3, 2)
    assert (f.abandoned, f.short_abandoned) == (2, 1)
    assert f.service_level == pytest.approx(2 / 5)
    assert f.asa_s == pytest.approx(80 / 3)
    assert f.aht_s == pytest.approx((120 + 200 + 340) / 3)
    assert f.longest_wait_s == 90
    assert f.first_level_share == pytest.approx(2 / 3)
    assert f.abandon_rate == pytest.approx(1 / 5)


@pytest.mark.parametrize(("threshold", "level"), [(20, 8 / 10), (30, 9 / 10)])
def test_each_client_its_own_threshold(threshold: float, level: float) -> None:
    # The same waits: Leipzig's 20 s and Kreis Wesel's 30 s give different levels.
    calls = [call(wait=15)] * 8 + [call(wait=25)] + [call(wait=40)]
    assert figures(tally(*calls, rules=Rules(threshold))).service_level == pytest.approx(level)


def test_nothing_to_measure() -> None:
    f = figures(tally(call("closed", queued=False)))
    assert f.service_level is None and f.asa_s is None and f.longest_wait_s is None
    assert figures(tally(call("abandoned_queue", 1))).service_level is None  # only short


def berlin(y: int, mo: int, d: int, h: int, mi: int, fold: int = 0) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN, fold=fold).timestamp()


@pytest.mark.parametrize(
    ("ts", "interval", "start"),
    [
        (berlin(2026, 10, 25, 2, 30, fold=0), "hour", "2026-10-25T02:00:00+02:00"),
        (berlin(2026, 10, 25, 2, 30, fold=1), "hour", "2026-10-25T02:00:00+01:00"),
        (berlin(2026, 10, 25, 2, 50, fold=1), "15min", "2026-10-25T02:45:00+01:00"),
        (berlin(2026, 10, 25, 23, 59), "day", "2026-10-25T00:00:00+02:00"),
        (berlin(2026, 3, 29, 3, 10), "hour", "2026-03-29T03:00:00+02:00"),
        (berlin(2026, 3, 29, 23, 0), "day", "2026-03-29T00:00:00+01:00"),
        (berlin(2026, 10, 31, 23, 59), "month", "2026-10-01T00:00:00+02:00"),
        (berlin(2026, 11, 1, 0, 0), "month", "2026-11-01T00:00:00+01:00"),
        (berlin(2026, 10, 1, 0, 0) - 1, "day", "2026-09-30T00:00:00+02:00"),
    ],
)
def test_local_intervals_across_dst(ts: float, interval: str, start: str) -> None:
    assert LocalClock().start(ts, interval).isoformat() == start  # type: ignore[arg-type]


def test_the_doubled_october_hour_stays_two_intervals() -> None:
    calls = [
        call(at=berlin(2026, 10, 25, 2, 10, fold=0)),
        call(at=berlin(2026, 10, 25, 2, 10, fold=1)),
    ]
    hours = aggregate(calls, lambda _: RULES, "hour")
    assert len(hours) == 2
    assert len(aggregate(calls, lambda _: RULES, "day")) == 1


def test_period_and_days_of_october() -> None:
    start, end = period("2026-10")
    assert (end - start) / 3600 == 31 * 24 + 1  # the 25th has 25 hours
    days = days_of(start, end)
    assert len(days) == 31 and days[24].day == 25
    assert days[25] - days[24] == timedelta(hours=25)
    with pytest.raises(ValueError):
        period("2026-13")


facts = st.builds(
    call,
    outcome=st.sampled_from(
        ["answered", "abandoned_queue", "abandoned_ringing", "overflow", "callback", "closed"]
    ),
    # Eighths of a second: their sums are exact in floating point, so the tallies compare
    # equal whatever the order of adding (arbitrary floats differ in the last bit).
    wait=st.integers(0, 8000).map(lambda n: n / 8),
    queued=st.booleans(),
    by=st.sampled_from([None, "agent", "menu"]),
    target=st.sampled_from([None, "02032830", "agent-102"]),
    at=st.floats(T0 - 40 * 86400, T0 + 40 * 86400),
    client=st.sampled_from(["bottrop", "rees", None]),
    topic=st.sampled_from(["kfz", "abfall", None]),
)


@given(st.lists(facts, max_size=60), st.lists(facts, max_size=60))
def test_tallies_add_up(first: list[Facts], second: list[Facts]) -> None:
    assert tally(*first).merge(tally(*second)) == tally(*first, *second)


@given(st.lists(facts, max_size=80))
def test_figures_stay_in_range(calls: list[Facts]) -> None:
    f = figures(tally(*calls))
    assert f.answered_within <= f.answered <= f.offered <= f.calls
    assert f.short_abandoned <= f.abandoned <= f.offered - f.answered
    for share in (f.service_level, f.first_level_share, f.abandon_rate):
        assert share is None or 0 <= share <= 1


@given(st.lists(facts, max_size=80))
def test_every_interval_sums_to_the_same_month(calls: list[Facts]) -> None:
    by_interval = {
        interval: merged(aggregate(calls, lambda _: RULES, interval).values())
        for interval in INTERVALS
    }
    assert len({repr(t) for t in by_interval.values()}) == 1
    for key in aggregate(calls, lambda _: RULES, "day"):
        assert key[2].utcoffset() in (timedelta(hours=1), timedelta(hours=2))
        assert key[2].astimezone(BERLIN).hour == 0
