"""`stadtruf config check [DIR]` and `stadtruf config schema`: the admin's tools for config/.

`check` prints every problem as `file:line:col: message` (the form editors and CI jump to) and
exits 1; it never shows a traceback, whatever is in the files. It also checks the agents file
(`DIR/agents/agents.yaml`) when there is one; agents' passwords are not its business (they
come from the deployment's environment, see `stadtruf asterisk render`).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from stadtruf.cli import Subcommands
from stadtruf.config import ConfigError, load_site
from stadtruf.config.schema import KINDS, schema_text
from stadtruf.config.site import AGENTS_FILE
from stadtruf.service import read_pid

DEFAULT_DIR = Path("config")


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser("config", help="Konfiguration prüfen oder JSON Schema ausgeben")
    sub = parser.add_subparsers(dest="config_command", metavar="AKTION", required=True)

    check = sub.add_parser("check", help="Konfigurationsverzeichnis prüfen")
    check.add_argument(
        "directory",
        nargs="?",
        type=Path,
        default=DEFAULT_DIR,
        metavar="DIR",
        help=(
            f"Verzeichnis mit service-center.yaml, den Kundendateien und {AGENTS_FILE} "
            f"(Standard: {DEFAULT_DIR})"
        ),
    )
    check.set_defaults(func=check_command)

    reload = sub.add_parser(
        "reload",
        help="Konfiguration prüfen und in den laufenden Dienst laden (laufende Anrufe bleiben)",
    )
    reload.add_argument("directory", nargs="?", type=Path, default=DEFAULT_DIR, metavar="DIR")
    reload.set_defaults(func=reload_command)

    export = sub.add_parser("schema", help="JSON Schema für den Editor ausgeben")
    export.add_argument(
        "kind",
        nargs="?",
        choices=sorted(KINDS),
        default="client",
        help="welche Dateiart (Standard: client)",
    )
    export.add_argument(
        "--out",
        type=Path,
        metavar="DIR",
        help="beide Schemas als <art>.schema.json in DIR schreiben statt auszugeben",
    )
    export.set_defaults(func=schema_command)


def check_command(args: argparse.Namespace) -> int:
    try:
        site = load_site(args.directory)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        count = len(exc.problems)
        print(f"{count} Fehler" if count != 1 else "1 Fehler", file=sys.stderr)
        return 1
    cfg, agents = site.config, site.agents
    numbers = sum(len(c.switchboard_numbers) for c in cfg.clients.values())
    staff = f", {len(agents.agents)} Agenten" if agents is not None else ""
    print(
        f"{args.directory}: in Ordnung – {cfg.service_center.name}, {len(cfg.clients)} Kunden "
        f"({', '.join(cfg.clients)}), {numbers} Zentralnummern, {len(cfg.area_codes)} Vorwahlen"
        f"{staff}"
    )
    return 0


def schema_command(args: argparse.Namespace) -> int:
    if args.out is None:
        sys.stdout.write(schema_text(args.kind))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    for kind in KINDS:
        path = args.out / f"{kind}.schema.json"
        path.write_text(schema_text(kind), encoding="utf-8")
        print(path)
    return 0


def reload_command(args: argparse.Namespace) -> int:
    """Check first, so the admin sees the same messages; only a valid config is signalled."""
    status = check_command(args)
    if status != 0:
        print("Nicht geladen: der Dienst behält die bisherige Konfiguration.", file=sys.stderr)
        return status
    pid = read_pid()
    if pid is None:
        print("Kein laufender Dienst gefunden (stadtruf up / stadtruf serve).", file=sys.stderr)
        return 1
    os.kill(pid, signal.SIGHUP)
    print(f"Neu laden angestoßen (Prozess {pid}); neue Anrufe bekommen die neue Konfiguration.")
    return 0
