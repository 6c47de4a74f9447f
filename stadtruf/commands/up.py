"""`stadtruf up`: the whole service center on this machine, until Ctrl-C or SIGTERM.

Starts the ServiceCenter's Asterisk (SIP and ARI on 127.0.0.1), the test carrier (127.0.0.2,
for `stadtruf call` and a SIP phone's test calls) and the Stasis app with the config, and
stops all of them on Ctrl-C / SIGTERM, leaving no process and no mount behind.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from typing import Any

from ari_app.settings import AriSettings
from stadtruf import logging as stadtruf_logging
from stadtruf.asterisk.instance import AsteriskInstance, AsteriskStartError
from stadtruf.asterisk.topology import (
    ARI_USER,
    DEFAULT_PLAN,
    AddressPlan,
    carrier_settings,
    rootfs_path,
    servicecenter_settings,
)
from stadtruf.commands.serve import add_common_arguments
from stadtruf.config import ConfigError, load
from stadtruf.paths import run_dir
from stadtruf.service import (
    build_app,
    install_prompts,
    managed_instance_config,
    run_until_signalled,
    written_pid,
)


def register(sub: Any) -> None:
    parser = sub.add_parser(
        "up",
        help="run Asterisk + the Stasis app + the test carrier on this machine",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common_arguments(parser)
    parser.add_argument(
        "--address",
        default=DEFAULT_PLAN.servicecenter,
        help="loopback address of the ServiceCenter's Asterisk (default %(default)s)",
    )
    parser.add_argument(
        "--carrier-address",
        default=DEFAULT_PLAN.carrier,
        help="loopback address of the test carrier (default %(default)s)",
    )
    parser.set_defaults(func=up)


def ari_password() -> str:
    """STADTRUF_ARI_PASSWORD, or a fresh random one for this run (never a fixed default).

    Written to run/ari-password (mode 0600) so that `stadtruf call` finds it.
    """
    password = os.environ.get("STADTRUF_ARI_PASSWORD") or secrets.token_urlsafe(24)
    path = run_dir() / "ari-password"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(password + "\n")
    return password


def up(args: argparse.Namespace) -> int:
    stadtruf_logging.configure(json=args.json_logs, level=args.log_level)
    try:
        config = load(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    password = ari_password()
    plan = AddressPlan(servicecenter=args.address, carrier=args.carrier_address)
    center = AsteriskInstance(
        servicecenter_settings(plan, password, config.switchboards.keys()),
        run_dir() / "servicecenter",
    )
    carrier = AsteriskInstance(carrier_settings(plan, password), run_dir() / "testcarrier")
    try:
        rootfs = rootfs_path()
        install_prompts(config, center.directory, rootfs)
        center.start()
        carrier.start()
        print(
            f"stadtruf: ServiceCenter SIP {center.settings.sip_uri} (trunk from "
            f"{plan.carrier}), ARI {center.settings.ari_url}; test carrier SIP "
            f"{carrier.settings.sip_uri}, ARI {carrier.settings.ari_url}. Ctrl-C stops.",
            file=sys.stderr,
        )
        settings = AriSettings(url=center.settings.ari_url, user=ARI_USER, password=password)
        live, bind = managed_instance_config(args.config, config, center.directory, rootfs)
        app = build_app(settings, live)
        bind(app)
        with written_pid():
            asyncio.run(run_until_signalled(app, live))
    except AsteriskStartError as exc:
        print(f"stadtruf up: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        carrier.stop()
        center.stop()
    return 0
