"""`stadtruf serve`: the Stasis app against an Asterisk that is already running."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from ari_app.settings import AriSettings, SettingsError
from stadtruf import logging as stadtruf_logging
from stadtruf.config import ConfigError, load
from stadtruf.paths import sample_config_dir
from stadtruf.service import LiveConfig, build_app, run_until_signalled, written_pid


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "serve",
        help="run the Stasis app against a running Asterisk",
        description=(
            "Connect to Asterisk's ARI (STADTRUF_ARI_URL, STADTRUF_ARI_USER, "
            "STADTRUF_ARI_PASSWORD, STADTRUF_ARI_APP) and answer 115 and the switchboard "
            "numbers until SIGINT/SIGTERM."
        ),
    )
    add_common_arguments(parser)
    parser.set_defaults(func=serve)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, default=sample_config_dir(), help="config directory")
    parser.add_argument("--json-logs", action="store_true", help="log JSON lines")
    parser.add_argument("--log-level", default="INFO")


def serve(args: argparse.Namespace) -> int:
    stadtruf_logging.configure(json=args.json_logs, level=args.log_level)
    try:
        settings = AriSettings.from_env()
        config = load(args.config)
    except SettingsError as exc:
        print(f"stadtruf serve: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    live = LiveConfig(args.config, config)
    with written_pid():
        asyncio.run(run_until_signalled(build_app(settings, live), live))
    return 0
