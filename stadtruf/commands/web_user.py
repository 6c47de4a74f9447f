"""`stadtruf web-user NAME --role agent|supervisor`: a line for the web UI's users file.

Reads the password twice from the terminal (or once from standard input, when it is not a
terminal) and adds or replaces the user's line in the file (`api: users_file`, else
run/web-users), readable only by its owner."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path

from stadtruf.cli import Subcommands
from stadtruf.commands.serve import add_config_argument
from stadtruf.config import ConfigError, load_site
from stadtruf.core.web_access import ROLES, password_hash


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "web-user",
        help="Benutzer der Weboberfläche anlegen oder Passwort ändern",
        description="Schreibt Name, Rolle und scrypt-Hash in die Benutzerdatei.",
    )
    add_config_argument(parser)
    parser.add_argument("name", help="Name; bei Agenten die Agenten-ID, z. B. agent-101")
    parser.add_argument("--role", choices=ROLES, required=True)
    parser.add_argument("--file", type=Path, help="Benutzerdatei (Standard: aus der Config)")
    parser.set_defaults(func=run)


def _password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("Passwort: ")
    if first != getpass.getpass("Noch einmal: "):
        raise ValueError("Die Passwörter sind verschieden.")
    return first


def run(args: argparse.Namespace) -> int:
    from stadtruf.api.web_setup import users_path

    try:
        site = load_site(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    if args.role == "agent" and (site.agents is None or args.name not in site.agents.by_id):
        print(f"stadtruf web-user: Agent '{args.name}' gibt es nicht", file=sys.stderr)
        return 1
    try:
        password = _password()
    except ValueError as exc:
        print(f"stadtruf web-user: {exc}", file=sys.stderr)
        return 1
    if len(password) < 10:
        print("stadtruf web-user: Passwort mit mindestens 10 Zeichen", file=sys.stderr)
        return 1
    path = args.file or users_path(site.config)
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    kept = [line for line in lines if line.split()[:1] != [args.name]]
    kept.append(f"{args.name} {args.role} {password_hash(password)}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("\n".join(kept) + "\n")
    print(f"{args.name} ({args.role}) in {path}")
    return 0
