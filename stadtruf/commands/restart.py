"""`stadtruf restart`: restart the running `stadtruf serve` in place, without losing a call.

Sends SIGUSR2 to the process in `run/stadtruf.pid` (as `config reload` sends SIGHUP). The
service leaves its calls in Asterisk, closes, and executes itself anew with the same pid: new
code and config, the calls adopted where they were (`stadtruf.restart`, docs/operations.md).
"""

from __future__ import annotations

import argparse
import os
import sys

from stadtruf.cli import Subcommands
from stadtruf.restart import RESTART_SIGNAL
from stadtruf.service import pid_file, read_pid


def register(subparsers: Subcommands) -> None:
    parser = subparsers.add_parser(
        "restart",
        help="den laufenden Dienst (stadtruf serve) neu starten, ohne Anrufe zu verlieren",
        description=(
            "Startet stadtruf serve an Ort und Stelle neu (SIGUSR2): neuer Code und neue "
            "Konfiguration, die Anrufe bleiben in Asterisk und werden übernommen (Menü, "
            "Platz in der Warteschlange, Gespräch). stadtruf up kann das nicht."
        ),
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
    os.kill(pid, RESTART_SIGNAL)
    print(
        f"Neustart angestoßen (Prozess {pid}): laufende Anrufe bleiben erhalten. Im Log: "
        "app.restarting, danach call.adopted_after_reconnect je Anruf."
    )
    return 0
