"""The report as data: the config's targets and tariffs, the store's calls, the core's figures.

`build` has the database sum up the records of the period (`store.report_sql.collect_sql`,
the SQL form of `core.report.collect`) and shapes what the CSV and HTML renderers show: per client
the bill, the month's figures against its target, every day of the period (days without calls
included), the top topics, the calls per hour of day and the wait-time distribution.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Engine

from stadtruf.config.load import ServiceCenterConfig
from stadtruf.core.billing import Bill, Tariff
from stadtruf.core.report import (
    ClientData,
    ClientSettings,
    client_bill,
    client_order,
    months_between,
    top_topics,
)
from stadtruf.core.service_figures import (
    BERLIN,
    Figures,
    Rules,
    Tally,
    days_of,
    figures,
    period,
)
from stadtruf.core.service_level import Target
from stadtruf.store.report_sql import collect_sql

NO_CLIENT = "ohne Kunde"
NO_TOPIC = "ohne Thema"


@dataclass(frozen=True)
class Day:
    day: datetime  # local midnight
    figures: Figures


@dataclass(frozen=True)
class TopicRow:
    topic: str | None
    name: str
    figures: Figures


@dataclass(frozen=True)
class ClientReport:
    client: str | None
    name: str
    target: Target
    tariff: Tariff | None
    bill: Bill | None
    minutes: int
    figures: Figures
    days: list[Day]
    months: list[Day]  # the first of each month of the period, for reports over months
    topics: list[TopicRow]
    per_hour: list[int]
    waits: list[int]


@dataclass(frozen=True)
class Report:
    center: str
    first_month: str
    last_month: str
    start: float
    end: float
    created: datetime
    short_abandon_s: int
    clients: list[ClientReport]

    @property
    def title_period(self) -> str:
        first = datetime.strptime(self.first_month, "%Y-%m")
        if self.first_month == self.last_month:
            return f"{MONTHS[first.month - 1]} {first.year}"
        last = datetime.strptime(self.last_month, "%Y-%m")
        return f"{MONTHS[first.month - 1]} {first.year} bis {MONTHS[last.month - 1]} {last.year}"


MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)


def settings_of(config: ServiceCenterConfig) -> dict[str, ClientSettings]:
    default = config.service_center.service_level.target
    result = {}
    for cid, client in config.clients.items():
        target = (client.service_level or default).target()
        tariff = client.billing.tariff() if client.billing is not None else None
        result[cid] = ClientSettings(client.name, target, tariff)
    return result


def build(
    config: ServiceCenterConfig,
    engine: Engine,
    first_month: str,
    last_month: str | None = None,
    client: str | None = None,
    now: datetime | None = None,
) -> Report:
    """The report over the local months `first_month`..`last_month` (`YYYY-MM`)."""
    last_month = last_month or first_month
    start, _ = period(first_month)
    _, end = period(last_month)
    settings = settings_of(config)
    default = config.service_center.service_level
    short = float(default.short_abandon_s)

    def rules(cid: str | None) -> Rules:
        target = settings[cid].target if cid in settings else default.target.target()
        return Rules(target.seconds, short)

    data = collect_sql(engine, start, end, rules, settings, client)
    if client is not None and client not in data:
        data[client] = ClientData()  # a month without calls still gets its page
    months = months_between(first_month, last_month)
    days = days_of(start, end)
    names = {t: topic.name for t, topic in config.service_center.topics.items()}
    fallback = default.target.target()
    reports = [
        _client_report(cid, data[cid], settings.get(cid or ""), fallback, months, days, names)
        for cid in client_order(data, settings)
    ]
    return Report(
        center=config.service_center.name,
        first_month=first_month,
        last_month=last_month,
        start=start,
        end=end,
        created=now or datetime.now(BERLIN),
        short_abandon_s=default.short_abandon_s,
        clients=reports,
    )


def _client_report(
    cid: str | None,
    data: ClientData,
    settings: ClientSettings | None,
    default_target: Target,
    months: int,
    days: list[datetime],
    topic_names: dict[str, str],
) -> ClientReport:
    by_day = data.by_day()
    by_month: dict[tuple[int, int], Tally] = {}
    firsts: dict[tuple[int, int], datetime] = {}
    for day in days:
        month = (day.year, day.month)
        firsts.setdefault(month, day)
        by_month.setdefault(month, Tally()).merge(by_day.get(day, Tally()))
    return ClientReport(
        client=cid,
        name=settings.name if settings else (cid or NO_CLIENT),
        target=settings.target if settings else default_target,
        tariff=settings.tariff if settings else None,
        bill=client_bill(data, settings, months),
        minutes=data.minutes,
        figures=figures(data.month),
        days=[Day(day, figures(by_day.get(day, Tally()))) for day in days],
        months=[Day(firsts[m], figures(t)) for m, t in by_month.items()],
        topics=[
            TopicRow(t, topic_names.get(t, t) if t else NO_TOPIC, figures(tally))
            for t, tally in top_topics(data)
        ],
        per_hour=list(data.per_hour),
        waits=list(data.waits),
    )
