"""German number formats for the reports: 4.012 calls, 81,2 %, 12 s, 3:05 min."""

from __future__ import annotations

DASH = "–"  # no value (no calls to measure)


def count(value: int) -> str:
    return f"{value:,}".replace(",", ".")


def decimal(value: float, places: int = 1) -> str:
    return f"{value:,.{places}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def percent(share: float | None) -> str:
    return DASH if share is None else f"{decimal(share * 100)} %"


def seconds(value: float | None) -> str:
    return DASH if value is None else f"{decimal(value)} s"


def duration(value: float | None) -> str:
    """Seconds as m:ss min (or s below a minute)."""
    if value is None:
        return DASH
    if value < 60:
        return seconds(value)
    whole = round(value)
    return f"{whole // 60}:{whole % 60:02d} min"
