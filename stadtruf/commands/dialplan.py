"""`stadtruf dialplan render`: the dialplan rendered from config/, without anything secret.

Writes `stadtruf-numbers.conf`: the numbers into `Stasis(stadtruf)`, the allow-lists, and the
agents the fail-open may ring while the app is away (`stadtruf.asterisk.dialplan`). What
`stadtruf asterisk render` writes too, but without the agents' passwords: for a classic
installation, and for the examples in `dialplan/rendered/` (a unit test checks they match).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from stadtruf.asterisk.dialplan import numbers_conf
from stadtruf.cli import Subcommands
from stadtruf.commands.asterisk import NUMBERS_FILE
from stadtruf.config import ConfigError, load_site
from stadtruf.paths import sample_config_dir


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("dialplan", help="Dialplan rendered from the config")
    commands = parser.add_subparsers(dest="dialplan_command", metavar="COMMAND", required=True)
    render = commands.add_parser(
        "render",
        help=f"write {NUMBERS_FILE} (numbers, allow-lists, fail-open agents)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument("--config", type=Path, default=sample_config_dir())
    render.add_argument("--out", type=Path, required=True)
    render.set_defaults(func=render_command)


def render_command(args: argparse.Namespace) -> int:
    try:
        site = load_site(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / NUMBERS_FILE
    target.write_text(numbers_conf(site.config, site.agents), encoding="utf-8")
    agents = len(site.agents.agents) if site.agents is not None else 0
    print(f"wrote {target} ({agents} agents for the fail-open)")
    return 0
