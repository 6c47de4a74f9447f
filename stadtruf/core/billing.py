"""The bill of a client for a period: calls and minutes priced by its tariff. Pure.

A tariff is any combination of a monthly fee, a price per call and a price per started minute
(the call's time in the center, from arrival to hang-up, rounded up per call). Money is
`Decimal` throughout and ends as whole cents: every line of the bill is rounded to the cent
(half up, as invoices do), the total is the sum of the lines, so the lines always add up.
Every call of the client counts, menu-only calls too: the center carried them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Tariff:
    monthly_fee: Decimal | None = None
    per_call: Decimal | None = None
    per_minute: Decimal | None = None


@dataclass(frozen=True)
class Line:
    label: str  # German, for the invoice
    quantity: int
    unit_price: Decimal
    cents: int


@dataclass(frozen=True)
class Bill:
    calls: int
    minutes: int
    lines: tuple[Line, ...]

    @property
    def cents(self) -> int:
        return sum(line.cents for line in self.lines)


def billed_minutes(duration_s: float | None) -> int:
    """Started minutes of one call (0 s: none; 60 s: one; 61 s: two)."""
    if duration_s is None or duration_s <= 0:
        return 0
    return math.ceil(duration_s / 60)


def to_cents(amount: Decimal) -> int:
    return int(amount.quantize(CENT, rounding=ROUND_HALF_UP) * 100)


def bill(tariff: Tariff, calls: int, minutes: int, months: int = 1) -> Bill:
    """The bill for `calls` calls of `minutes` started minutes over `months` months."""
    lines: list[Line] = []
    if tariff.monthly_fee is not None:
        lines.append(_line("Monatspauschale", months, tariff.monthly_fee))
    if tariff.per_call is not None:
        lines.append(_line("Anrufe", calls, tariff.per_call))
    if tariff.per_minute is not None:
        lines.append(_line("Minuten", minutes, tariff.per_minute))
    return Bill(calls, minutes, tuple(lines))


def _line(label: str, quantity: int, price: Decimal) -> Line:
    return Line(label, quantity, price, to_cents(price * quantity))


def euros(cents: int) -> str:
    """German money text: 174000 00 → '174.000,00 €'."""
    sign = "-" if cents < 0 else ""
    whole, rest = divmod(abs(cents), 100)
    return f"{sign}{whole:,}".replace(",", ".") + f",{rest:02d} €"
