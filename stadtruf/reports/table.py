"""The report as CSV in long form: one figure per row, for spreadsheets and further processing.

Columns `abschnitt;kunde;schluessel;kennzahl;wert`, separated by `;` with a decimal comma (what
a German spreadsheet opens without an import dialog). Sections: `rechnung` (calls, minutes,
each line, total in euros), `service` (the period's figures and the target), `tag` (per local
day, key `YYYY-MM-DD`), `stunde` (calls per hour of day, key `00`–`23`), `thema` (top topics),
`wartezeit` (offered calls per wait bin). Shares are percentages, times seconds. Empty value:
nothing to measure (no calls).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal

from stadtruf.core.report import WAIT_LABELS
from stadtruf.core.service_figures import Figures
from stadtruf.reports.build import ClientReport, Report

HEADER = ("abschnitt", "kunde", "schluessel", "kennzahl", "wert")
Row = tuple[str, str, str, str, str]


def _value(value: float | int | Decimal | None, places: int = 2) -> str:
    if value is None:
        return ""
    if isinstance(value, int):
        return str(value)
    return f"{value:.{places}f}".replace(".", ",")


def _pct(share: float | None) -> str:
    return "" if share is None else _value(share * 100)


def _figures(section: str, client: str, key: str, f: Figures) -> Iterator[Row]:
    yield section, client, key, "anrufe", _value(f.calls)
    yield section, client, key, "angeboten", _value(f.offered)
    yield section, client, key, "angenommen", _value(f.answered)
    yield section, client, key, "angenommen_in_zielzeit", _value(f.answered_within)
    yield section, client, key, "aufgelegt", _value(f.abandoned)
    yield section, client, key, "kurzaufleger", _value(f.short_abandoned)
    yield section, client, key, "servicelevel_prozent", _pct(f.service_level)
    yield section, client, key, "asa_s", _value(f.asa_s)
    yield section, client, key, "aht_s", _value(f.aht_s)
    yield section, client, key, "laengste_wartezeit_s", _value(f.longest_wait_s)
    yield section, client, key, "erstkontakt_prozent", _pct(f.first_level_share)


def rows(report: Report) -> Iterator[Row]:
    for c in report.clients:
        yield from _client(report, c)


def _client(report: Report, c: ClientReport) -> Iterator[Row]:
    cid = c.client or ""
    yield "rechnung", cid, "", "anrufe", _value(c.figures.calls)
    yield "rechnung", cid, "", "minuten", _value(c.minutes)
    if c.bill is not None:
        for line in c.bill.lines:
            yield "rechnung", cid, line.label, "betrag_eur", _value(Decimal(line.cents) / 100)
        yield "rechnung", cid, "summe", "betrag_eur", _value(Decimal(c.bill.cents) / 100)
    period = report.first_month if report.first_month == report.last_month else "zeitraum"
    yield from _figures("service", cid, period, c.figures)
    yield "service", cid, period, "ziel_prozent", _value(c.target.share * 100)
    yield "service", cid, period, "ziel_sekunden", _value(c.target.seconds)
    for day in c.days:
        yield from _figures("tag", cid, f"{day.day:%Y-%m-%d}", day.figures)
    for hour, calls in enumerate(c.per_hour):
        yield "stunde", cid, f"{hour:02d}", "anrufe", _value(calls)
    for topic in c.topics:
        yield from _figures("thema", cid, topic.topic or "", topic.figures)
    for label, calls in zip(WAIT_LABELS, c.waits, strict=True):
        yield "wartezeit", cid, label, "anrufe", _value(calls)


def render(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows(report))
    return out.getvalue()
