"""`stadtruf asterisk render`: the files Asterisk needs from config/ (for Docker set-ups).

Writes `stadtruf-numbers.conf` (115 and the switchboard numbers), `pjsip_agents.conf` (one
PJSIP endpoint per agent of `config/agents/agents.yaml`, empty without that file) and
`capacity.env` (RTP port range and call limit of service-center.yaml, read by the Docker
entrypoint when the container starts: a change there needs a restart, not `--reload`). Agents'
passwords come from `STADTRUF_AGENT_<ID>_PASSWORD` or their `password_file`; if one is missing,
nothing is written. `--reload` then has the running Asterisk reload PJSIP and the dialplan over
ARI (STADTRUF_ARI_URL, STADTRUF_ARI_USER, STADTRUF_ARI_PASSWORD): useful when `--out` is the
folder that Asterisk reads its config from. No hand-edited pjsip.conf, no restart.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import aiohttp

from ari_app.connection import base_url_of
from ari_app.errors import AriError
from ari_app.rest import AriRest
from ari_app.settings import AriSettings
from stadtruf.asterisk.agents import AgentEndpoint, render_servicecenter_endpoints
from stadtruf.asterisk.capacity import CAPACITY_ENV, render_capacity_env
from stadtruf.asterisk.dialplan import numbers_conf
from stadtruf.asterisk.topology import DEFAULT_PLAN
from stadtruf.cli import Subcommands
from stadtruf.config import ConfigError, load_site
from stadtruf.config.passwords import agent_endpoints
from stadtruf.paths import sample_config_dir

NUMBERS_FILE = "stadtruf-numbers.conf"
AGENTS_CONF = "pjsip_agents.conf"
# pjsip_agents.conf first: an agent's endpoint must exist before the dialplan can reach it.
RELOADED_MODULES = ("res_pjsip.so", "pbx_config.so")


def register(sub: Subcommands) -> None:
    parser = sub.add_parser("asterisk", help="Asterisk files rendered from the config")
    commands = parser.add_subparsers(dest="asterisk_command", metavar="COMMAND", required=True)
    render = commands.add_parser(
        "render",
        help=f"write {NUMBERS_FILE} (115, switchboard numbers), {AGENTS_CONF} and {CAPACITY_ENV}",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    render.add_argument("--config", type=Path, default=sample_config_dir())
    render.add_argument("--out", type=Path, required=True)
    render.add_argument(
        "--address",
        default=DEFAULT_PLAN.servicecenter,
        help="the ServiceCenter's SIP/RTP address, media address of the agents' endpoints "
        "(default %(default)s)",
    )
    render.add_argument(
        "--reload",
        action="store_true",
        help="afterwards reload res_pjsip.so and pbx_config.so through ARI (STADTRUF_ARI_*)",
    )
    render.set_defaults(func=render_command)


def render_command(args: argparse.Namespace) -> int:
    # Everything is checked before anything is written: a half-updated folder (numbers new,
    # agents old) is worse than none, especially with --reload.
    try:
        site = load_site(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    config, agents = site.config, site.agents
    endpoints: list[AgentEndpoint] = []
    if agents is not None:
        endpoints, problems = agent_endpoints(agents, os.environ, site.agents_dir)
        if problems:
            for problem in problems:
                print(problem, file=sys.stderr)
            count = f"{len(problems)} Agenten" if len(problems) != 1 else "1 Agent"
            print(f"Nichts geschrieben: {count} ohne Endpunkt.", file=sys.stderr)
            return 1
    settings = None
    if args.reload:
        try:
            settings = AriSettings.from_env()
            base_url_of(settings.url)
        except ValueError as exc:  # SettingsError, or a URL that base_url_of refuses
            print(f"stadtruf asterisk render --reload: {exc}", file=sys.stderr)
            return 2

    args.out.mkdir(parents=True, exist_ok=True)
    numbers = args.out / NUMBERS_FILE
    numbers.write_text(numbers_conf(config, agents), encoding="utf-8")
    print(f"wrote {numbers}")
    target = args.out / AGENTS_CONF
    _write_secret(target, render_servicecenter_endpoints(endpoints, args.address))
    print(f"wrote {target} ({len(endpoints)} agents)")
    capacity = config.service_center.capacity
    env = args.out / CAPACITY_ENV
    env.write_text(render_capacity_env(capacity), encoding="utf-8")
    print(
        f"wrote {env} (RTP {capacity.rtp_port_start}–{capacity.rtp_port_end}, "
        f"at most {capacity.call_limit} calls)"
    )

    if settings is None:
        return 0
    try:
        asyncio.run(reload_asterisk(settings))
    except AriError as exc:
        print(f"Asterisk nicht neu geladen: {exc}", file=sys.stderr)
        return 1
    print(f"reloaded {', '.join(RELOADED_MODULES)} at {settings.url}")
    return 0


async def reload_asterisk(settings: AriSettings) -> None:
    """Reload PJSIP (the agents' endpoints) and the dialplan (the numbers) of a running Asterisk."""
    async with aiohttp.ClientSession() as session:
        rest = AriRest(session, settings.url, settings.user, settings.password)
        for module in RELOADED_MODULES:
            await rest.reload_module(module)


def _write_secret(path: Path, text: str) -> None:
    # The file holds the agents' SIP passwords: readable by its owner only, from the start.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    path.chmod(0o600)  # an existing file keeps its old mode through O_CREAT
