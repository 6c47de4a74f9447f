"""`stadtruf serve`: the Stasis app against an Asterisk that is already running."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from ari_app.settings import AriSettings, SettingsError
from stadtruf import event_loop
from stadtruf import logging as stadtruf_logging
from stadtruf.api.agent_api import DEFAULT_HOST, DEFAULT_PORT
from stadtruf.api.auth import weak_tokens
from stadtruf.api.web_setup import WebSetupError, server_extras
from stadtruf.asterisk.bans import guard_instance
from stadtruf.cli import Subcommands
from stadtruf.config import ConfigError, load_site
from stadtruf.config.passwords import agent_endpoints
from stadtruf.core.hours import BERLIN
from stadtruf.paths import run_dir, sample_config_dir
from stadtruf.restart import REFUSED_NOTE, Restart, signals_held, with_option
from stadtruf.service import (
    ApiSettings,
    LiveConfig,
    add_clock_argument,
    build_service,
    call_records,
    run_service,
    running_clock,
    written_pid,
)
from stadtruf.store.agent_state import AgentStateFile
from stadtruf.store.callbacks import CallbackStore
from stadtruf.store.overrides import OverrideStore, overrides_path


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "serve",
        help="run the Stasis app against a running Asterisk",
        description=(
            "Connect to Asterisk's ARI (STADTRUF_ARI_URL, STADTRUF_ARI_USER, "
            "STADTRUF_ARI_PASSWORD, STADTRUF_ARI_APP) and answer 115 and the switchboard "
            "numbers until SIGINT/SIGTERM; SIGHUP reloads the config, SIGUSR2 (stadtruf "
            "restart) restarts in place without losing a call."
        ),
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--api-address", default=DEFAULT_HOST, help="agent state API address (%(default)s)"
    )
    parser.add_argument(
        "--api-port", type=int, default=DEFAULT_PORT, help="agent state API port (%(default)s)"
    )
    parser.add_argument(
        "--callbacks",
        type=Path,
        default=run_dir() / "callbacks.jsonl",
        help="where callback requests are stored (%(default)s)",
    )
    parser.add_argument(
        "--asterisk-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the ServiceCenter Asterisk's instance directory (log/security.log, etc/): ban "
        "addresses after repeated SIP failures there (sip_bans:, docs/security.md); "
        "its pjsip.conf must #tryinclude pjsip_bans.conf",
    )
    parser.add_argument(
        "--agent-state",
        type=Path,
        default=run_dir() / "agent-state.json",
        help="where the agents' log-in and pause are kept across restarts (%(default)s)",
    )
    parser.set_defaults(func=serve)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_argument(parser)
    add_clock_argument(parser)
    parser.add_argument("--json-logs", action="store_true", help="log JSON lines")
    parser.add_argument("--log-level", default="INFO")


def add_config_argument(parser: argparse.ArgumentParser) -> None:
    """`--config DIR`: one default for every command that reads the config (simulate too)."""
    parser.add_argument(
        "--config",
        type=Path,
        default=sample_config_dir(),
        metavar="DIR",
        help="Konfigurationsverzeichnis (Standard: %(default)s)",
    )


def serve(args: argparse.Namespace) -> int:
    stadtruf_logging.configure(json=args.json_logs, level=args.log_level)
    try:
        settings = AriSettings.from_env()
        site = load_site(args.config)
    except SettingsError as exc:
        print(f"stadtruf serve: {exc}", file=sys.stderr)
        return 2
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    if weak_ones := weak_tokens(os.environ):
        for token_problem in weak_ones:
            print(f"stadtruf serve: {token_problem}", file=sys.stderr)
        return 2
    config, agents = site.config, site.agents
    passwords: dict[str, str] = {}
    if agents is not None:
        endpoints, missing = agent_endpoints(agents, os.environ, site.agents_dir)
        for problem in missing:
            print(problem, file=sys.stderr)
        passwords = {e.id: e.password for e in endpoints}
    try:
        agent_ids = [a.id for a in agents.agents] if agents is not None else []
        web, tls = server_extras(config, agent_ids, args.api_address)
    except WebSetupError as exc:
        print(f"stadtruf serve: {exc}", file=sys.stderr)
        return 1
    live = LiveConfig(args.config, config, agents=agents)
    clock = running_clock(args.clock_start)
    overrides = OverrideStore(overrides_path(), clock)
    # Before a restart, the new program's own check of this config (code and config on disk).
    check = [sys.executable, "-m", "stadtruf.cli", "config", "check", str(args.config)]
    restart = Restart(check=check, note=run_dir() / REFUSED_NOTE)
    # The pid file outlives the records: a restart executes this program again with it in
    # place (same pid), once the records are flushed and closed.
    with signals_held(), written_pid():
        with call_records(config, clock) as records:
            service = build_service(
                settings,
                live,
                agents=agents,
                callbacks=CallbackStore(args.callbacks),
                agent_state=AgentStateFile(args.agent_state),
                clock=clock,
                records=records,
                overrides=overrides.current,
            )
            api = ApiSettings(
                host=args.api_address,
                port=args.api_port,
                passwords=passwords,
                overrides=overrides,
                web=web,
                ssl_context=tls,
            )
            tasks = []
            if args.asterisk_dir is not None:
                directory = args.asterisk_dir
                tasks.append(guard_instance(service, config, directory, directory / "etc").run)
            event_loop.run(run_service(service, live, api, tasks=tasks, restart=restart))
        if restart.due:
            if args.clock_start is not None:  # the app's clock runs on, not from its start again
                now = datetime.fromtimestamp(clock(), BERLIN).isoformat()
                restart.argv = with_option(restart.argv, "--clock-start", now)
            return restart.execute()
    return 0
