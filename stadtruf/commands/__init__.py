"""Subcommands of the `stadtruf` CLI, one module each."""
