"""`stadtruf asterisk render`: the files Asterisk needs from config/ (for Docker set-ups)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from stadtruf.asterisk.dialplan import render_numbers_context
from stadtruf.config import ConfigError, load
from stadtruf.paths import sample_config_dir


def register(sub: Any) -> None:
    parser = sub.add_parser("asterisk", help="Asterisk files rendered from the config")
    commands = parser.add_subparsers(dest="asterisk_command", metavar="COMMAND", required=True)
    render = commands.add_parser(
        "render",
        help="write stadtruf-numbers.conf (115 and the switchboard numbers) into a folder",
    )
    render.add_argument("--config", type=Path, default=sample_config_dir())
    render.add_argument("--out", type=Path, required=True)
    render.set_defaults(func=_render)


def _render(args: argparse.Namespace) -> int:
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    target = args.out / "stadtruf-numbers.conf"
    target.write_text(render_numbers_context(config.switchboards.keys()), encoding="utf-8")
    print(f"wrote {target}")
    return 0
