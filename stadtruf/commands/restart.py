"""`stadtruf restart`: restart the running `stadtruf serve` in place, without losing a call.

Sends SIGUSR2 to the process in `run/stadtruf.pid` (as `config reload` sends SIGHUP). The
service checks the new program (its `config check`), leaves its calls in Asterisk, closes, and
executes itself anew with the same pid: new code and config, the calls adopted where they were
(`stadtruf.restart`, docs/operations.md). The command waits until the new program has written
the pid file again, or the service refused (it goes on unchanged) or ended.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time

from stadtruf.cli import Subcommands
from stadtruf.paths import run_dir
from stadtruf.restart import REFUSED_NOTE, RESTART_SIGNAL
from stadtruf.service import pid_file, read_pid

DEFAULT_WAIT_S = 60.0  # the check (about a second), the hand-over, the new program's start


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser(
        "restart",
        help="den laufenden Dienst (stadtruf serve) neu starten, ohne Anrufe zu verlieren",
        description=(
            "Startet stadtruf serve an Ort und Stelle neu (SIGUSR2): neuer Code und neue "
            "Konfiguration, die Anrufe bleiben in Asterisk und werden übernommen (Menü, "
            "Platz in der Warteschlange, Gespräch). Vorher prüft der Dienst die Konfiguration "
            "mit dem neuen Programm; ist sie fehlerhaft, läuft er unverändert weiter. "
            "stadtruf up kann das nicht."
        ),
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=DEFAULT_WAIT_S,
        metavar="SEKUNDEN",
        help="so lange auf den Neustart warten (Standard: %(default).0f; 0: nicht warten)",
    )
    parser.set_defaults(func=restart_command)


def restart_command(args: argparse.Namespace) -> int:
    pid = read_pid()
    if pid is None:
        print(
            f"Kein laufender Dienst gefunden ({pid_file()} fehlt oder ist veraltet). "
            "Läuft stadtruf serve, mit demselben STADTRUF_RUN_DIR?",
            file=sys.stderr,
        )
        return 1
    note = run_dir() / REFUSED_NOTE
    with contextlib.suppress(FileNotFoundError):
        note.unlink()
    written = _written_at()
    os.kill(pid, RESTART_SIGNAL)
    if args.wait <= 0:
        print(f"Neustart angestoßen (Prozess {pid}); laufende Anrufe bleiben erhalten.")
        return 0
    deadline = time.monotonic() + args.wait
    while time.monotonic() < deadline:
        time.sleep(0.1)
        if note.exists():
            reason = note.read_text(encoding="utf-8").strip()
            print(
                f"Neustart abgelehnt: {reason}\n"
                "Der Dienst läuft unverändert weiter; kein Anruf ist betroffen.",
                file=sys.stderr,
            )
            return 1
        if read_pid() != pid:
            print(
                f"Der Dienst (Prozess {pid}) läuft nicht mehr: Log prüfen (app.restart_failed "
                "oder die Meldung des neuen Programms beim Start). Die Anrufe warten in "
                "Asterisk auf den nächsten Start.",
                file=sys.stderr,
            )
            return 1
        if _written_at() != written:  # the new program has started (it writes the pid file)
            print(
                f"Neu gestartet (Prozess {pid}); die Anrufe werden übernommen "
                "(Log: call.adopted_after_reconnect)."
            )
            return 0
    print(
        f"Kein Neustart innerhalb von {args.wait:.0f} s bestätigt (Prozess {pid}): Log prüfen.",
        file=sys.stderr,
    )
    return 1


def _written_at() -> int | None:
    try:
        return pid_file().stat().st_mtime_ns
    except FileNotFoundError:
        return None
