"""Subcommands of the `stadtruf` CLI, one module each."""

from __future__ import annotations

import argparse
from pathlib import Path

from stadtruf.paths import sample_config_dir


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """`--config DIR`, the same default for every command that reads the config."""
    parser.add_argument(
        "--config",
        type=Path,
        default=sample_config_dir(),
        metavar="DIR",
        help="Konfigurationsverzeichnis (Standard: %(default)s)",
    )
