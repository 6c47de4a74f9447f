"""The bill per client (core.billing) and the tariff in the config: money exact, in cents."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from stadtruf.config.reporting import Billing
from stadtruf.core.billing import Tariff, bill, billed_minutes, euros, to_cents


@pytest.mark.parametrize(
    ("seconds", "minutes"), [(None, 0), (0, 0), (0.4, 1), (60, 1), (60.01, 2), (3600, 60)]
)
def test_started_minutes(seconds: float | None, minutes: int) -> None:
    assert billed_minutes(seconds) == minutes


@pytest.mark.parametrize(
    ("tariff", "calls", "minutes", "cents"),
    [
        # Dinslaken: ~35,000 calls a year at 2.57 EUR ≈ 90,000 EUR
        (Tariff(per_call=Decimal("2.57")), 35_000, 0, 8_995_000),
        # Bottrop: 4,500 a month plus 1.60 per call; ~75,000 calls ≈ 174,000 EUR a year
        (Tariff(monthly_fee=Decimal(4500), per_call=Decimal("1.60")), 75_000, 0, 17_400_000),
        (Tariff(per_minute=Decimal("0.0125")), 0, 3, 4),  # 3.75 ct → 4 ct (half up)
        (Tariff(per_minute=Decimal("0.0125")), 0, 2, 3),  # 2.5 ct → 3 ct
    ],
)
def test_tariffs(tariff: Tariff, calls: int, minutes: int, cents: int) -> None:
    months = 12 if tariff.monthly_fee else 1
    assert bill(tariff, calls, minutes, months).cents == cents


def test_euros_in_german() -> None:
    assert euros(17_400_000) == "174.000,00 €"
    assert euros(5) == "0,05 €"


@given(
    st.decimals(0, 10_000, places=4),
    st.decimals(0, 100, places=4),
    st.decimals(0, 10, places=4),
    st.integers(0, 1_000_000),
    st.integers(0, 5_000_000),
)
def test_lines_add_up_to_the_total(
    fee: Decimal, per_call: Decimal, per_minute: Decimal, calls: int, minutes: int
) -> None:
    b = bill(Tariff(fee, per_call, per_minute), calls, minutes)
    assert b.cents == sum(line.cents for line in b.lines)
    exact = fee + per_call * calls + per_minute * minutes
    assert abs(b.cents - exact * 100) <= Decimal("1.5")  # three lines, each within half a cent
    assert b.cents == to_cents(fee) + to_cents(per_call * calls) + to_cents(per_minute * minutes)


def test_config_money_is_exact_and_checked() -> None:
    assert Billing.model_validate({"per_call": 2.57}).per_call == Decimal("2.57")
    assert Billing.model_validate({"per_minute": "0.0125"}).tariff().per_minute == Decimal("0.0125")
    for bad in ({}, {"per_call": -1}, {"per_call": 0.00001}, {"per_call": "x"}):
        with pytest.raises(ValidationError):
            Billing.model_validate(bad)
