"""`stadtruf report --month 2026-10 [--client bottrop] --format csv|html [--out FILE]`.

Reads the call records (the database `service-center.yaml` names, or `--db`), and writes the
bill per client and the service figures against each client's target as CSV or as a
self-contained HTML page (stadtruf.reports). Reads only; the app may keep writing meanwhile.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from stadtruf.cli import Subcommands
from stadtruf.config import ConfigError, load_site
from stadtruf.config.model import CallRecords
from stadtruf.core.service_figures import period
from stadtruf.paths import run_dir, sample_config_dir
from stadtruf.reports import build, html, table
from stadtruf.store import records_db


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser(
        "report", help="Monatsbericht: Abrechnung und Service-Level je Kunde (CSV oder HTML)"
    )
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--month", metavar="JJJJ-MM", help="Monat, z. B. 2026-10")
    when.add_argument("--year", metavar="JJJJ", help="ganzes Jahr, z. B. 2026")
    parser.add_argument(
        "--to", metavar="JJJJ-MM", help="mit --month: bis einschließlich diesem Monat"
    )
    parser.add_argument("--client", metavar="KUNDE", help="nur dieser Kunde, z. B. bottrop")
    parser.add_argument("--format", choices=("csv", "html"), default="html")
    parser.add_argument("--out", type=Path, metavar="DATEI", help="Datei statt Ausgabe")
    parser.add_argument(
        "--config",
        type=Path,
        default=sample_config_dir(),
        metavar="DIR",
        help="Konfigurationsverzeichnis (Standard: config des Projekts)",
    )
    parser.add_argument(
        "--db",
        metavar="DSN|DATEI",
        help="Anrufliste statt der aus service-center.yaml: postgresql://… oder SQLite-Datei",
    )
    parser.set_defaults(func=report_command)


def _months(args: argparse.Namespace) -> tuple[str, str]:
    first, last = (f"{args.year}-01", f"{args.year}-12") if args.year else (args.month, args.to)
    last = last or first
    for month in (first, last):
        period(month)  # ValueError for a malformed month
    if last < first:
        raise ValueError(f"--to {last} liegt vor --month {first}")
    return first, last


def _url(args: argparse.Namespace, config_dir: Path, settings: CallRecords) -> str:
    if args.db:
        db = str(args.db)
        if db.startswith(("postgresql://", "postgres://")):
            settings = CallRecords(postgresql=db)
        else:
            settings = CallRecords(sqlite=str(Path(db).resolve()))
    url = records_db.database_url(settings, config_dir, run_dir())
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.is_file():
            raise FileNotFoundError(f"Anrufliste {path} gibt es nicht (--db angeben?)")
    return url


def report_command(args: argparse.Namespace) -> int:
    try:
        first, last = _months(args)
    except ValueError as error:
        print(f"report: {error} (erwartet JJJJ-MM, z. B. 2026-10)", file=sys.stderr)
        return 2
    try:
        config = load_site(args.config).config
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    if args.client is not None and args.client not in config.clients:
        known = ", ".join(config.clients)
        print(f"report: Kunde '{args.client}' gibt es nicht ({known})", file=sys.stderr)
        return 2
    try:
        url = _url(args, config.directory, config.service_center.call_records)
    except FileNotFoundError as error:
        print(f"report: {error}", file=sys.stderr)
        return 1
    engine = records_db.connect(url)
    try:
        report = build.build(config, engine, first, last, args.client)
    except SQLAlchemyError as error:
        where = sa.make_url(url).render_as_string(hide_password=True)
        print(f"report: Anrufliste {where} nicht lesbar: {error}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    text = html.render(report) if args.format == "html" else table.render(report)
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"Bericht {report.title_period}: {args.out}", file=sys.stderr)
    return 0
