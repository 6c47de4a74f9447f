"""The report as one self-contained HTML page: German, inline CSS and SVG, prints on A4.

No CDN, no web font, no script: the file opens offline and in a mail attachment. The first
page is the overview (bill and service level of every client); each client follows on its own
pages: key figures against its target, the bill, calls per day, service level per day against
the target line, the wait-time distribution, calls per hour of day and the top topics.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape

from stadtruf.core.billing import euros
from stadtruf.core.report import WAIT_BINS, WAIT_LABELS
from stadtruf.core.service_figures import Figures
from stadtruf.reports import charts
from stadtruf.reports.build import MONTHS, ClientReport, Report
from stadtruf.reports.text import count, decimal, duration, percent, seconds

STYLE = """
@page { size: A4; margin: 14mm 13mm 16mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, Helvetica, sans-serif;
  color: #1d2733; margin: 0 auto; max-width: 190mm; font-size: 10.5pt; line-height: 1.35;
  padding: 8mm 0; }
h1 { font-size: 19pt; margin: 0 0 2mm; color: #143c61; }
h2 { font-size: 15pt; margin: 0 0 3mm; color: #143c61; border-bottom: 2px solid #143c61;
  padding-bottom: 1mm; }
h3 { font-size: 11.5pt; margin: 5mm 0 2mm; color: #143c61; }
.meta { color: #5b6773; margin: 0 0 6mm; }
table { border-collapse: collapse; width: 100%; margin: 0 0 3mm; }
th, td { padding: 1.2mm 1.6mm; border-bottom: 1px solid #dde2e7; text-align: left;
  font-size: 9.5pt; }
th { background: #eef2f6; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total td { font-weight: 700; border-top: 2px solid #143c61; }
.ok { color: #2b8a3e; font-weight: 700; }
.miss { color: #c0392b; font-weight: 700; }
.tiles { display: flex; gap: 3mm; margin: 0 0 4mm; }
.tile { flex: 1; border: 1px solid #dde2e7; border-radius: 2mm; padding: 2.5mm 3mm;
  background: #f7f9fb; }
.tile .v { font-size: 17pt; font-weight: 700; color: #143c61; }
.tile .l { color: #5b6773; font-size: 9pt; }
.tile.ok .v { color: #2b8a3e; } .tile.miss .v { color: #c0392b; }
figure { margin: 0 0 4mm; break-inside: avoid; }
figcaption { font-weight: 600; color: #143c61; margin: 0 0 1mm; }
svg.chart { width: 100%; height: auto; display: block; }
section.client { break-before: page; padding-top: 2mm; }
.two { display: flex; gap: 4mm; } .two > * { flex: 1; min-width: 0; }
.note { color: #5b6773; font-size: 8.5pt; }
@media print { body { padding: 0; } }
"""


def render(report: Report) -> str:
    parts = [
        '<!DOCTYPE html><html lang="de"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(_title(report))}</title><style>{STYLE}</style></head><body>",
        f"<h1>{escape(_title(report))}</h1>",
        f'<p class="meta">{escape(report.center)} · erstellt am '
        f"{report.created:%d.%m.%Y um %H:%M} Uhr</p>",
        _overview(report),
        *(_client(report, c) for c in report.clients),
        "</body></html>",
    ]
    return "\n".join(parts)


def _title(report: Report) -> str:
    kind = "Monatsbericht" if report.first_month == report.last_month else "Bericht"
    return f"{kind} {report.title_period}"


def _met(f: Figures, c: ClientReport) -> bool | None:
    return None if f.service_level is None else f.service_level >= c.target.share


def _verdict(met: bool | None) -> str:
    if met is None:
        return "–"
    return '<span class="ok">erreicht</span>' if met else '<span class="miss">verfehlt</span>'


def _target(c: ClientReport) -> str:
    return f"{c.target.share * 100:g} % in {c.target.seconds:g} s"


def _overview(report: Report) -> str:
    rows = []
    total_calls = total_minutes = total_cents = 0
    for c in report.clients:
        f = c.figures
        total_calls += f.calls
        total_minutes += c.minutes
        total_cents += c.bill.cents if c.bill else 0
        rows.append(
            f"<tr><td>{escape(c.name)}</td><td class='n'>{count(f.calls)}</td>"
            f"<td class='n'>{count(c.minutes)}</td>"
            f"<td class='n'>{euros(c.bill.cents) if c.bill else '–'}</td>"
            f"<td class='n'>{percent(f.service_level)}</td><td class='n'>{_target(c)}</td>"
            f"<td>{_verdict(_met(f, c))}</td></tr>"
        )
    rows.append(
        f"<tr class='total'><td>Summe</td><td class='n'>{count(total_calls)}</td>"
        f"<td class='n'>{count(total_minutes)}</td><td class='n'>{euros(total_cents)}</td>"
        "<td></td><td></td><td></td></tr>"
    )
    return (
        "<section><h2>Übersicht</h2><table><thead><tr><th>Kunde</th><th class='n'>Anrufe</th>"
        "<th class='n'>Minuten</th><th class='n'>Betrag</th><th class='n'>Service-Level</th>"
        "<th class='n'>Ziel</th><th>Bewertung</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
        f"<p class='note'>Service-Level: in der Zielzeit angenommene Anrufe geteilt durch die "
        f"angebotenen Anrufe ohne Kurzaufleger (aufgelegt nach weniger als "
        f"{report.short_abandon_s} s). Minuten: je Anruf angefangene Minuten vom Eingang bis "
        f"zum Auflegen.</p></section>"
    )


def _tile(value: str, label: str, css: str = "") -> str:
    return f'<div class="tile {css}"><div class="v">{value}</div><div class="l">{label}</div></div>'


def _client(report: Report, c: ClientReport) -> str:
    f = c.figures
    met = _met(f, c)
    tiles = "".join(
        [
            _tile(
                percent(f.service_level),
                f"Service-Level (Ziel {escape(_target(c))})",
                "" if met is None else ("ok" if met else "miss"),
            ),
            _tile(count(f.calls), "Anrufe"),
            _tile(seconds(f.asa_s), "mittlere Wartezeit bis Annahme"),
            _tile(percent(f.abandon_rate), "Aufleger (ohne Kurzaufleger)"),
        ]
    )
    return (
        f'<section class="client"><h2>{escape(c.name)}</h2><div class="tiles">{tiles}</div>'
        f'<div class="two"><div><h3>Kennzahlen</h3>{_figures_table(f, c)}</div>'
        f"<div><h3>Rechnung</h3>{_bill_table(c)}</div></div>"
        f"{_charts(report, c)}<h3>Häufigste Themen</h3>{_topics_table(c)}</section>"
    )


def _figures_table(f: Figures, c: ClientReport) -> str:
    rows = [
        ("Anrufe gesamt", count(f.calls)),
        ("an Agenten angeboten", count(f.offered)),
        ("angenommen", count(f.answered)),
        (f"davon in {c.target.seconds:g} s", count(f.answered_within)),
        ("aufgelegt beim Warten", count(f.abandoned)),
        ("davon Kurzaufleger", count(f.short_abandoned)),
        ("Service-Level", f"{percent(f.service_level)} {_verdict(_met(f, c))}"),
        ("mittlere Wartezeit (ASA)", seconds(f.asa_s)),
        ("mittlere Bearbeitungszeit (AHT)", duration(f.aht_s)),
        ("längste Wartezeit", duration(f.longest_wait_s)),
        ("im Erstkontakt erledigt", percent(f.first_level_share)),
    ]
    body = "".join(f"<tr><td>{label}</td><td class='n'>{value}</td></tr>" for label, value in rows)
    return f"<table><tbody>{body}</tbody></table>"


def _bill_table(c: ClientReport) -> str:
    if c.bill is None:
        return "<p class='note'>Keine Abrechnung vereinbart (kein <code>billing</code>).</p>"
    rows = [
        f"<tr><td>{escape(line.label)}</td><td class='n'>{count(line.quantity)}</td>"
        f"<td class='n'>{_price(line.unit_price)}</td><td class='n'>{euros(line.cents)}</td></tr>"
        for line in c.bill.lines
    ]
    rows.append(
        f"<tr class='total'><td>Summe</td><td></td><td></td>"
        f"<td class='n'>{euros(c.bill.cents)}</td></tr>"
    )
    return (
        "<table><thead><tr><th>Posten</th><th class='n'>Menge</th><th class='n'>Preis</th>"
        "<th class='n'>Betrag</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )


def _price(value: Decimal) -> str:
    """A unit price with at least two decimals: 4.500,00 €, 1,60 €, 0,0125 €."""
    places = max(2, -int(value.as_tuple().exponent))
    return decimal(float(value), places) + " €"


def _charts(report: Report, c: ClientReport) -> str:
    # One month: a bar per day; longer periods: a bar per month (365 bars say nothing).
    month = report.first_month == report.last_month
    points = c.days if month else c.months
    unit = "Tag" if month else "Monat"
    labels = [
        f"{d.day.day}" if month else f"{MONTHS[d.day.month - 1][:3]} {d.day:%y}" for d in points
    ]
    answered = [d.figures.answered for d in points]
    abandoned = [d.figures.abandoned for d in points]
    other = [d.figures.calls - d.figures.answered - d.figures.abandoned for d in points]
    per_day = charts.bars(
        f"Anrufe je {unit}",
        labels,
        [
            charts.Series("angenommen", charts.ANSWERED, answered),
            charts.Series("aufgelegt", charts.ABANDONED, abandoned),
            charts.Series("sonstige (Menü, Weiterleitung, …)", charts.OTHER, other),
        ],
    )
    levels = [
        None if d.figures.service_level is None else d.figures.service_level * 100 for d in points
    ]
    level = charts.line_with_target(
        f"Service-Level je {unit}", labels, levels, c.target.share * 100, "Service-Level"
    )
    # Bins that end within the target time in the answer colour, the rest in the warning one.
    within = [edge <= c.target.seconds for edge in WAIT_BINS] + [False]
    waits = charts.bars(
        "Wartezeit der angebotenen Anrufe",
        list(WAIT_LABELS),
        [
            charts.Series(
                f"bis {c.target.seconds:g} s gewartet",
                charts.ANSWERED,
                [n if w else 0 for n, w in zip(c.waits, within, strict=True)],
            ),
            charts.Series(
                "länger",
                charts.ABANDONED,
                [0 if w else n for n, w in zip(c.waits, within, strict=True)],
            ),
        ],
    )
    hours = charts.bars(
        "Anrufe je Stunde des Tages",
        [f"{h}" for h in range(24)],
        [charts.Series("Anrufe (Eingang, Uhrzeit)", charts.ANSWERED, c.per_hour)],
    )
    return (
        f"<figure><figcaption>Anrufe je {unit}</figcaption>{per_day}</figure>"
        f"<figure><figcaption>Service-Level je {unit} (Ziel {escape(_target(c))})</figcaption>"
        f"{level}</figure>"
        f"<figure><figcaption>Verteilung der Wartezeit</figcaption>{waits}</figure>"
        f"<figure><figcaption>Anrufe je Stunde</figcaption>{hours}</figure>"
    )


def _topics_table(c: ClientReport) -> str:
    if not c.topics:
        return "<p class='note'>Keine Anrufe.</p>"
    total = max(c.figures.calls, 1)
    rows = [
        f"<tr><td>{escape(t.name)}</td><td class='n'>{count(t.figures.calls)}</td>"
        f"<td class='n'>{percent(t.figures.calls / total)}</td>"
        f"<td class='n'>{percent(t.figures.service_level)}</td>"
        f"<td class='n'>{seconds(t.figures.asa_s)}</td></tr>"
        for t in c.topics
    ]
    return (
        "<table><thead><tr><th>Thema</th><th class='n'>Anrufe</th><th class='n'>Anteil</th>"
        "<th class='n'>Service-Level</th><th class='n'>ASA</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )
