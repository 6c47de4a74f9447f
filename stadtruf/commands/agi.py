"""`stadtruf agi`: the FastAGI server for classic dialplans (docs/fastagi.md)."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

import structlog

from agi.server import DEFAULT_HOST, DEFAULT_PORT, AgiServer
from stadtruf import event_loop
from stadtruf import logging as stadtruf_logging
from stadtruf.cli import Subcommands
from stadtruf.config import ConfigError, load_site
from stadtruf.paths import sample_config_dir
from stadtruf.service import LiveConfig

log = structlog.get_logger(__name__)


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "agi",
        help="FastAGI-Server für klassische Dialpläne (origin, route, open)",
        description=(
            "Beantwortet AGI(agi://ADRESSE/origin|route|open) aus einem bestehenden Dialplan "
            "mit denselben Regeln wie die Stasis-App. SIGHUP lädt die Konfiguration neu; "
            "SIGINT/SIGTERM beendet. Siehe docs/fastagi.md."
        ),
    )
    parser.add_argument(
        "--listen",
        default=f"{DEFAULT_HOST}:{DEFAULT_PORT}",
        type=_address,
        help="Adresse:Port (%(default)s); nur für Asterisk erreichbar machen",
    )
    parser.add_argument("--config", type=Path, default=sample_config_dir(), help="config directory")
    parser.add_argument("--json-logs", action="store_true", help="log JSON lines")
    parser.add_argument("--log-level", default="INFO")
    parser.set_defaults(func=run)


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"'{text}' ist keine Adresse:Port (z. B. 127.0.0.1:4573)")
    return host.strip("[]"), int(port)


def run(args: argparse.Namespace) -> int:
    stadtruf_logging.configure(json=args.json_logs, level=args.log_level)
    try:
        site = load_site(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    host, port = args.listen
    try:
        event_loop.run(_serve(LiveConfig(args.config, site.config), host, port))
    except OSError as exc:
        print(f"stadtruf agi: {host}:{port} nicht verfügbar: {exc.strerror}", file=sys.stderr)
        return 1
    return 0


async def _serve(live: LiveConfig, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, live.reload)  # keeps the old config if broken
    app = AgiServer(live)
    server = await app.start(host, port)
    print(f"stadtruf agi: FastAGI auf agi://{host}:{port}/ (origin, route, open)", flush=True)
    log.info("agi.listening", host=host, port=port)
    try:
        await stop.wait()
    finally:
        await app.close(server)
