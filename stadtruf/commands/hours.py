"""`stadtruf hours close|list|clear`: opening-hours overrides while the service runs.

The running app reads the overrides file for every new call: no reload is needed.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from stadtruf.cli import Subcommands
from stadtruf.commands.serve import add_config_argument
from stadtruf.config import ConfigError, load_site
from stadtruf.core.closed import new_override
from stadtruf.core.hours import BERLIN, Override
from stadtruf.store.overrides import OverrideStore, overrides_path


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "hours",
        help="Öffnungszeiten zur Laufzeit übersteuern (z. B. heute ab 12 Uhr geschlossen)",
        description="Ausnahmen von den Öffnungszeiten, mit Ablauf; gelten ab dem nächsten Anruf.",
    )
    parser.add_argument(
        "--file",
        type=Path,
        default=overrides_path(),
        help="Datei der Ausnahmen (Standard: %(default)s)",
    )
    actions = parser.add_subparsers(dest="hours_command", metavar="BEFEHL", required=True)
    close = actions.add_parser("close", help="schließen (oder mit --open öffnen) bis --until")
    add_config_argument(close)
    close.add_argument("--client", help="Kunde, z. B. bottrop (ohne: alle Kunden)")
    close.add_argument("--topic", help="nur dieses Thema (ohne: die ganze Leitung)")
    close.add_argument("--from", dest="start", help="Beginn: HH:MM heute oder JJJJ-MM-TTTHH:MM")
    close.add_argument("--until", required=True, help="Ende (Ablauf), wie --from")
    close.add_argument("--reason", default="", help="Grund, z. B. Dienstbesprechung")
    close.add_argument(
        "--open", action="store_true", help="statt zu schließen außerhalb der Zeiten öffnen"
    )
    close.set_defaults(func=close_command)
    listing = actions.add_parser("list", help="Ausnahmen anzeigen, die noch nicht abgelaufen sind")
    listing.set_defaults(func=list_command)
    clear = actions.add_parser("clear", help="eine Ausnahme löschen")
    clear.add_argument("id", help="Kennung aus 'stadtruf hours list'")
    clear.set_defaults(func=clear_command)


def _now() -> datetime:
    return datetime.fromtimestamp(time.time(), UTC)


def close_command(args: argparse.Namespace) -> int:
    try:
        config = load_site(args.config).config
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    if args.client is not None and args.client not in config.clients:
        known = ", ".join(sorted(config.clients))
        print(
            f"stadtruf hours: Kunde '{args.client}' unbekannt (bekannt: {known})", file=sys.stderr
        )
        return 2
    if args.topic is not None and config.topic(args.topic) is None:
        print(f"stadtruf hours: Thema '{args.topic}' unbekannt", file=sys.stderr)
        return 2
    try:
        override = new_override(
            _now(),
            args.until,
            start=args.start,
            client=args.client,
            topic=args.topic,
            reason=args.reason,
            state="open" if args.open else "closed",
        )
    except ValueError as exc:
        print(f"stadtruf hours: {exc}", file=sys.stderr)
        return 2
    stored = OverrideStore(args.file).add(override)
    print(f"Ausnahme {stored.id} gespeichert: {describe(stored)}")
    return 0


def list_command(args: argparse.Namespace) -> int:
    overrides = OverrideStore(args.file).all()
    if not overrides:
        print("Keine Ausnahmen.")
    for override in overrides:
        print(f"{override.id}  {describe(override)}")
    return 0


def clear_command(args: argparse.Namespace) -> int:
    if not OverrideStore(args.file).remove(args.id):
        print(f"stadtruf hours: keine Ausnahme '{args.id}'", file=sys.stderr)
        return 1
    print(f"Ausnahme {args.id} gelöscht.")
    return 0


def describe(override: Override) -> str:
    """`geschlossen Do 04.06. 12:00 – 14:00, bottrop, alle Themen (Dienstbesprechung)`"""
    start, end = override.start.astimezone(BERLIN), override.end.astimezone(BERLIN)
    what = "geschlossen" if override.state == "closed" else "geöffnet"
    span = f"{start:%d.%m.%Y %H:%M} – {end:%d.%m.%Y %H:%M}"
    client = override.client or "alle Kunden"
    topic = override.topic or "alle Themen"
    reason = f" ({override.reason})" if override.reason else ""
    return f"{what} {span}, {client}, {topic}{reason}"
