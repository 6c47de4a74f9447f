"""The `stadtruf` command. Each feature module registers its own subcommand.

A feature module exposes `register(subparsers)`, which adds its parser and sets
`func=handler` where `handler(args) -> int` is the exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from importlib import import_module
from typing import TypeAlias

# What a command module's `register` gets: the parser's subcommands, to add its own to.
# (A string: argparse's class is generic for type checkers only.)
Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"

# Exit status of a command whose reader went away, as a shell reports death by SIGPIPE.
BROKEN_PIPE_STATUS = 128 + 13

# Modules that contribute subcommands, in the order `--help` lists them.
_COMMAND_MODULES = (
    "stadtruf.commands.up",
    "stadtruf.commands.serve",
    "stadtruf.commands.asterisk",
    "stadtruf.commands.dialplan",
    "stadtruf.commands.config",
    "stadtruf.commands.restart",
    "stadtruf.commands.simulate",
    "stadtruf.commands.call",
    "stadtruf.commands.agi",
    "stadtruf.commands.report",
    "stadtruf.commands.hours",
    "stadtruf.commands.web_user",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stadtruf",
        description="stadtruf: 115 and town switchboards for a municipal ServiceCenter.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        status = int(func(args))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`stadtruf simulate … | head -3`): stop quietly, like any Unix
        # tool. Stdout goes to /dev/null, or the flush at exit would fail once more.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return BROKEN_PIPE_STATUS
    return status


if __name__ == "__main__":
    sys.exit(main())
