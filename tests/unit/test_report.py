"""`stadtruf report` over a generated month of 10,000 calls, in SQLite and a real PostgreSQL.

The expected figures are computed here, in plain Python straight from the generated rows and
the YAML files (not with the functions the report uses), and compared with the report's CSV.
The HTML report is opened in a real headless Chromium (Debian's `chromium` and
`chromium-driver`, driven by Selenium): its charts must be drawn, and a screenshot is kept
under build/artifacts/. If Chromium cannot start, the test fails.
"""

from __future__ import annotations

import base64
import csv
import math
import os
import re
import shutil
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from selenium.webdriver.common.print_page_options import PrintOptions

from stadtruf.cli import main
from stadtruf.config.load import load
from stadtruf.core.report import collect
from stadtruf.core.service_figures import Rules, period
from stadtruf.store import records_db
from stadtruf.store.report_query import facts
from stadtruf.store.report_sql import collect_sql
from tests.support.browser import chromium
from tests.support.call_records import generate, insert
from tests.support.postgres import PostgresServer

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "config"
ARTIFACTS = ROOT / "build" / "artifacts"
MONTH = "2026-10"  # with the end of summer time on the 25th
CALLS = 10_000
BERLIN = ZoneInfo("Europe/Berlin")
ROWS = list(generate(CALLS, MONTH, seed=2026))


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    server = PostgresServer()
    try:
        yield server.start()
    finally:
        server.stop()


def fill(url: str) -> None:
    engine = records_db.connect(url)
    try:
        assert insert(engine, iter(ROWS)) == CALLS
    finally:
        engine.dispose()


@pytest.fixture(scope="module")
def sqlite_db(tmp_path_factory: pytest.TempPathFactory) -> str:
    path = tmp_path_factory.mktemp("report") / "anrufe.sqlite"
    fill(f"sqlite:///{path}")
    return str(path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> str:
    """The generated month in a database; the `--db` argument for it."""
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_db"))
    server: PostgresServer = request.getfixturevalue("postgres")
    fill(server.create_database("report"))
    return server.dsn("report")


def run_report(tmp_path: Path, db: str, *args: str) -> Path:
    out = tmp_path / "bericht"
    status = main(["report", "--month", MONTH, "--config", str(CONFIG), "--db", db, *args,
                   "--out", str(out)])  # fmt: skip
    assert status == 0
    return out


def parse(path: Path) -> dict[tuple[str, str, str, str], str]:
    with path.open(encoding="utf-8") as f:
        reader = csv.reader(f, delimiter=";")
        assert next(reader) == ["abschnitt", "kunde", "schluessel", "kennzahl", "wert"]
        return {(a, k, s, n): v for a, k, s, n, v in reader}


def number(text: str) -> float | None:
    return None if text == "" else float(text.replace(",", "."))


# --- The expected figures, independently ------------------------------------------------


def settings() -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    center = yaml.safe_load((CONFIG / "service-center.yaml").read_text())["service_level"]
    clients = {}
    for path in CONFIG.glob("*.yaml"):
        data = yaml.safe_load(path.read_text())
        if path.name != "service-center.yaml":
            clients[data["id"]] = data
    return clients, center


def expected() -> dict[str, dict[str, Any]]:
    clients, center = settings()
    short = center["short_abandon_s"]
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in ROWS:
        groups[row["client"] or ""].append(row)
    result = {}
    for cid, rows in groups.items():
        level = clients.get(cid, {}).get("service_level") or center["target"]
        within_s = level["seconds"]

        def figures(calls: list[dict[str, Any]], within_s: float = within_s) -> dict[str, Any]:
            queued = [r for r in calls if r["queued_at"] is not None]
            answered = [r for r in queued if r["outcome"] == "answered"]
            gave_up = [r for r in queued if r["outcome"].startswith("abandoned_")]
            shorts = [r for r in gave_up if r["wait_s"] < short]
            counted = len(queued) - len(shorts)
            offices = [r for r in answered if (r["transfer_target"] or "x")[0] == "0"]
            return {
                "anrufe": len(calls),
                "angeboten": len(queued),
                "angenommen": len(answered),
                "angenommen_in_zielzeit": sum(r["wait_s"] <= within_s for r in answered),
                "aufgelegt": len(gave_up),
                "kurzaufleger": len(shorts),
                "servicelevel_prozent": (
                    100 * sum(r["wait_s"] <= within_s for r in answered) / counted
                    if counted
                    else None
                ),
                "asa_s": sum(r["wait_s"] for r in answered) / len(answered) if answered else None,
                "aht_s": (
                    sum(r["talk_s"] + (r["wrap_up_s"] or 0) for r in answered) / len(answered)
                    if answered
                    else None
                ),
                "laengste_wartezeit_s": max((r["wait_s"] for r in queued), default=None),
                "erstkontakt_prozent": (
                    100 * (len(answered) - len(offices)) / len(answered) if answered else None
                ),
            }

        def local(row: dict[str, Any]) -> datetime:
            return datetime.fromtimestamp(row["arrived_at"], BERLIN)

        minutes = sum(math.ceil((r["ended_at"] - r["arrived_at"]) / 60) for r in rows)
        billing = clients.get(cid, {}).get("billing")
        total = None
        if billing:
            amount = Decimal(0)
            for key, quantity in (("monthly_fee", 1), ("per_call", len(rows)),
                                  ("per_minute", minutes)):  # fmt: skip
                if key in billing:
                    line = Decimal(str(billing[key])) * quantity
                    amount += line.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            total = float(amount)
        by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in rows:
            by_day[local(r).strftime("%Y-%m-%d")].append(r)
        result[cid] = {
            "month": figures(rows),
            "minutes": minutes,
            "total": total,
            "days": {day: figures(calls) for day, calls in by_day.items()},
            "hours": Counter(local(r).hour for r in rows),
            "topics": Counter(r["topic"] or "" for r in rows),
            "target": level,
        }
    return result


def test_generated_month_is_what_the_test_needs() -> None:
    days = {datetime.fromtimestamp(r["arrived_at"], BERLIN).day for r in ROWS}
    assert days == set(range(1, 32))
    # both 2:xx hours of the 25th (summer and winter time) have calls
    offsets = {
        datetime.fromtimestamp(r["arrived_at"], BERLIN).utcoffset()
        for r in ROWS
        if datetime.fromtimestamp(r["arrived_at"], BERLIN).strftime("%d %H") == "25 02"
    }
    assert len(offsets) == 2


def test_report_equals_the_independent_figures(tmp_path: Path, db: str) -> None:
    got = parse(run_report(tmp_path, db, "--format", "csv"))
    want = expected()
    assert {k for (_, k, _, _) in got} == set(want)
    for cid, w in want.items():
        assert got["rechnung", cid, "", "anrufe"] == str(w["month"]["anrufe"])
        assert got["rechnung", cid, "", "minuten"] == str(w["minutes"])
        if w["total"] is None:
            assert ("rechnung", cid, "summe", "betrag_eur") not in got
        else:
            assert number(got["rechnung", cid, "summe", "betrag_eur"]) == w["total"]
        assert number(got["service", cid, MONTH, "ziel_prozent"]) == w["target"]["percent"]
        for name, value in w["month"].items():
            assert number(got["service", cid, MONTH, name]) == pytest.approx(value, abs=0.006), name
        for day in range(1, 32):
            key = f"{MONTH}-{day:02d}"
            day_want = w["days"].get(key)
            assert number(got["tag", cid, key, "anrufe"]) == (day_want["anrufe"] if day_want else 0)
            if day_want:
                for name, value in day_want.items():
                    assert number(got["tag", cid, key, name]) == pytest.approx(value, abs=0.006)
        for hour in range(24):
            assert number(got["stunde", cid, f"{hour:02d}", "anrufe"]) == w["hours"][hour]
        for topic, calls in w["topics"].items():
            assert number(got["thema", cid, topic, "anrufe"]) == calls


def test_report_for_one_client(tmp_path: Path, db: str) -> None:
    got = parse(run_report(tmp_path, db, "--format", "csv", "--client", "bottrop"))
    assert {k for (_, k, _, _) in got} == {"bottrop"}
    assert got["rechnung", "bottrop", "", "anrufe"] == str(expected()["bottrop"]["month"]["anrufe"])


def test_report_refuses_what_it_cannot_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", "--config", str(CONFIG), "--db", str(tmp_path / "nichts.sqlite")]
    assert main([*args, "--month", "2026-13"]) == 2
    assert main([*args, "--month", MONTH, "--client", "gibtsnicht"]) == 2
    assert main([*args, "--month", MONTH]) == 1
    err = capsys.readouterr().err
    assert "JJJJ-MM" in err and "gibtsnicht" in err and "nichts.sqlite" in err


# --- The HTML in a real browser ------------------------------------------------------------


def test_html_report_draws_its_charts_in_chromium(tmp_path: Path, sqlite_db: str) -> None:
    page = run_report(tmp_path, sqlite_db, "--format", "html").rename(tmp_path / "bericht.html")
    text = page.read_text()
    # Self-contained: nothing to fetch (the SVG namespace is a name, not a request).
    assert not re.search(r"""(src|href)\s*=|@import|url\(""", text)
    profile = tempfile.mkdtemp(prefix="stadtruf-chromium-")  # a fresh profile each run
    driver = chromium(profile)
    try:
        driver.get(page.as_uri())
        assert driver.title == "Monatsbericht Oktober 2026"
        sections = driver.find_elements("css selector", "section.client")
        assert len(sections) == len(expected())
        bottrop = next(x for x in sections if x.find_element("tag name", "h2").text == "Bottrop")
        charts = bottrop.find_elements("css selector", "svg.chart")
        assert len(charts) == 4
        for chart in charts:
            box = chart.rect
            assert box["width"] > 300 and box["height"] > 80
            drawn = chart.find_elements("css selector", "rect.bar, circle.point")
            assert drawn, chart.get_attribute("aria-label")
            values = [float(e.get_attribute("data-value")) for e in drawn]
            assert sum(values) > 0
            sizes = [e.rect for e in drawn[:20]]
            assert all(s["width"] > 0 and s["height"] > 0 for s in sizes)
        target = bottrop.find_element("css selector", "line.target")
        assert float(target.get_attribute("data-value")) == 80
        bars = charts[0].find_elements("css selector", "rect.bar")  # calls per day
        calls = sum(float(b.get_attribute("data-value")) for b in bars)
        assert calls == expected()["bottrop"]["month"]["anrufe"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(ARTIFACTS / "report-overview.png"))
        assert bottrop.screenshot(str(ARTIFACTS / "report-bottrop.png"))
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1100, min(int(height) + 100, 16000))
        assert driver.save_screenshot(str(ARTIFACTS / "report.png"))
        # Printing: A4 pages (595 × 842 pt), the overview first, each client on its own pages.
        options = PrintOptions()
        options.page_width, options.page_height = 21.0, 29.7
        pdf = base64.b64decode(driver.print_page(options))
        (ARTIFACTS / "report.pdf").write_bytes(pdf)
        pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
        assert pages > len(sections), pages
        assert re.search(rb"/MediaBox\s*\[0 0 595\.?\d* 841\.?\d*\]|/MediaBox\s*\[0 0 59[45]", pdf)
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
    assert os.path.getsize(ARTIFACTS / "report.png") > 10_000


def test_the_database_sums_exactly_what_the_core_folds(db: str) -> None:
    """The SQL form of the rule (store/report_sql.py) against the core's fold, call by call."""
    url = db.replace("postgresql://", "postgresql+psycopg://") if "://" in db else f"sqlite:///{db}"
    config = load(CONFIG)
    targets = {cid: c.service_level for cid, c in config.clients.items()}
    default = config.service_center.service_level

    def rules(cid: str | None) -> Rules:
        level = targets.get(cid or "") or default.target
        return Rules(level.seconds, default.short_abandon_s)

    start, end = period(MONTH)
    engine = records_db.connect(url)
    try:
        # A part of the table (the indexed range) as well as all of it (a plain scan).
        part = start + 10 * 86400, start + 20 * 86400
        in_part = collect_sql(engine, *part, rules, config.clients)
        assert _same(in_part, collect(facts(engine, *part), rules))
        assert sum(d.month.calls for d in in_part.values()) < CALLS / 2
        by_sql = collect_sql(engine, start, end, rules, config.clients)
        by_core = collect(facts(engine, start, end), rules)
    finally:
        engine.dispose()
    _same(by_sql, by_core)


def _same(by_sql: dict[str | None, Any], by_core: dict[str | None, Any]) -> bool:
    assert set(by_sql) == set(by_core)
    for cid, core in by_core.items():
        sql = by_sql[cid]
        assert (sql.per_hour, sql.waits, sql.minutes) == (core.per_hour, core.waits, core.minutes)
        assert set(sql.tallies) == set(core.tallies)
        for key, tally in core.tallies.items():
            other = sql.tallies[key]
            for name in ("calls", "offered", "answered", "answered_within", "abandoned",
                         "short_abandoned", "first_level"):  # fmt: skip
                assert getattr(other, name) == getattr(tally, name), (cid, key, name)
            for name in ("wait_answered_s", "handled_s", "longest_wait_s"):
                assert getattr(other, name) == pytest.approx(getattr(tally, name)), name
    return True
