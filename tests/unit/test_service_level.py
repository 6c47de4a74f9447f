"""Service level, ASA, abandon rate and the expected-wait estimate, by table."""

from __future__ import annotations

import pytest

from stadtruf.core.service_level import (
    TARGETS,
    Wait,
    abandon_rate,
    average_speed_of_answer,
    expected_wait,
    meets,
    service_level,
    whole_seconds,
)

# 6 answered (4 within 30 s), 1 abandoned after 5 s, 1 abandoned after 60 s.
WAITS = [
    Wait(5, True),
    Wait(10, True),
    Wait(29, True),
    Wait(30, True),  # "within 30 s" includes 30 s
    Wait(31, True),
    Wait(90, True),
    Wait(5, False),
    Wait(60, False),
]


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ("after_threshold", 4 / 7),  # the short abandon is left out, the long one fails
        ("all", 4 / 8),
        ("none", 4 / 6),
    ],
)
def test_service_level_definitions(rule: str, expected: float) -> None:
    assert service_level(WAITS, 30, rule) == pytest.approx(expected)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("target", "waits", "met"),
    [
        ("kreis-wesel", [Wait(10, True)] * 8 + [Wait(40, True)] * 2, True),  # 80 % in 30 s
        ("kreis-wesel", [Wait(10, True)] * 7 + [Wait(40, True)] * 3, False),
        ("leipzig", [Wait(20, True)] * 9 + [Wait(21, True)], True),  # 90 % in 20 s
        ("leipzig", [Wait(20, True)] * 8 + [Wait(21, True)] * 2, False),
        ("115", [Wait(30, True)] * 3 + [Wait(31, False)], True),  # 75 % in 30 s
        ("115", [Wait(30, True)] * 2 + [Wait(31, False)], False),
        ("115", [], None),
    ],
)
def test_targets_of_the_domain(target: str, waits: list[Wait], met: bool | None) -> None:
    assert meets(waits, TARGETS[target]) is met


def test_nothing_counted() -> None:
    assert service_level([], 30) is None
    assert service_level([Wait(3, False)], 30) is None  # only a short abandon
    assert average_speed_of_answer([Wait(3, False)]) is None
    assert abandon_rate([]) is None


def test_average_speed_of_answer_ignores_abandoned_calls() -> None:
    assert average_speed_of_answer(WAITS) == pytest.approx((5 + 10 + 29 + 30 + 31 + 90) / 6)


@pytest.mark.parametrize(("grace", "expected"), [(0, 2 / 8), (10, 1 / 7), (100, 0.0)])
def test_abandon_rate(grace: float, expected: float) -> None:
    assert abandon_rate(WAITS, grace) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("position", "staffed", "handle", "free", "expected"),
    [
        (1, 2, [], 1, 0.0),  # an agent is free: answered at once
        (1, 1, [], 0, 180.0),  # nobody free, no history: the default handle time
        (3, 2, [100, 140], 0, 180.0),  # 3 · 120 / 2
        (3, 2, [100, 140], 1, 120.0),  # (3 - 1) · 120 / 2
        (1, 0, [60], 0, None),  # nobody staffed: no promise
        (0, 2, [60], 0, None),
    ],
)
def test_expected_wait(
    position: int, staffed: int, handle: list[float], free: int, expected: float | None
) -> None:
    assert expected_wait(position, staffed, handle, free=free) == expected


def test_whole_seconds_rounds_up() -> None:
    assert whole_seconds(12.1) == 13
    assert whole_seconds(12.0) == 12
    assert whole_seconds(None) is None
