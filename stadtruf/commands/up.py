"""`stadtruf up`: the whole service center on this machine, until Ctrl-C or SIGTERM.

Starts the ServiceCenter's Asterisk (SIP and ARI on 127.0.0.1), the test carrier (127.0.0.2,
for `stadtruf call` and a SIP phone's test calls), the test agents' phones (127.0.0.3, a third
Asterisk registering each agent of config/agents/agents.yaml) and the Stasis app with the
config, and stops all of them on Ctrl-C / SIGTERM, leaving no process and no mount behind.

Agents' SIP passwords come from STADTRUF_AGENT_<ID>_PASSWORD or their password_file; an agent
without one gets a random password for this run, shared with its test phone. With
--no-test-phones only agents with their own password get an endpoint (for real phones).
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from ari_app.settings import AriSettings
from stadtruf import event_loop
from stadtruf import logging as stadtruf_logging
from stadtruf.api.agent_api import DEFAULT_PORT
from stadtruf.api.auth import weak_tokens
from stadtruf.api.web_setup import WebSetupError, server_extras
from stadtruf.asterisk.agents import AgentEndpoint
from stadtruf.asterisk.bans import guard_instance
from stadtruf.asterisk.dialplan import numbers_conf
from stadtruf.asterisk.instance import AsteriskInstance, AsteriskStartError
from stadtruf.asterisk.topology import (
    ARI_USER,
    DEFAULT_PLAN,
    AddressPlan,
    agent_phones_settings,
    carrier_settings,
    rootfs_path,
    servicecenter_settings,
)
from stadtruf.cli import Subcommands
from stadtruf.commands.serve import add_common_arguments
from stadtruf.config import ConfigError, load_site
from stadtruf.config.agents import AgentsConfig
from stadtruf.config.passwords import agent_endpoints, demo_passwords
from stadtruf.config.site import agents_path
from stadtruf.core.credentials import ARI_MIN_LENGTH, weak_secret
from stadtruf.paths import run_dir
from stadtruf.prompt_files import closed_prompt_refresher, install_prompts
from stadtruf.service import (
    ApiSettings,
    build_service,
    call_records,
    managed_instance_config,
    run_service,
    running_clock,
    written_pid,
)
from stadtruf.store.agent_state import AgentStateFile
from stadtruf.store.callbacks import CallbackStore
from stadtruf.store.overrides import OverrideStore, overrides_path


def register(sub: Subcommands) -> None:
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
    parser.add_argument(
        "--agents-address",
        default=DEFAULT_PLAN.agents,
        help="loopback address of the test agents' phones (default %(default)s)",
    )
    parser.add_argument(
        "--no-test-phones",
        dest="test_phones",
        action="store_false",
        help="no test agents' phones; only agents with their own password get an endpoint",
    )
    parser.add_argument(
        "--api-port",
        type=int,
        default=DEFAULT_PORT,
        help="port of the agent state API on --address (default %(default)s)",
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
    given = os.environ.get("STADTRUF_ARI_PASSWORD")
    if given and (weak := weak_secret(given, name=ARI_USER, min_length=ARI_MIN_LENGTH)) is not None:
        print(
            f"stadtruf up: STADTRUF_ARI_PASSWORD {weak}; unset it (a random one per run) or "
            "set a random one (openssl rand -base64 18)",
            file=sys.stderr,
        )
        return 2
    if weak_ones := weak_tokens(os.environ):
        for token_problem in weak_ones:
            print(f"stadtruf up: {token_problem}", file=sys.stderr)
        return 2
    try:
        # The same gate as `stadtruf config check`: what it refuses does not start either.
        site = load_site(args.config)
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 1
    config, agents = site.config, site.agents
    endpoints = agent_phone_endpoints(agents, args) if agents is not None else []
    password = ari_password()
    plan = AddressPlan(
        servicecenter=args.address, carrier=args.carrier_address, agents=args.agents_address
    )
    center = AsteriskInstance(
        servicecenter_settings(
            plan,
            password,
            numbers_conf(config, agents),
            endpoints,
            capacity=config.service_center.capacity,
        ),
        run_dir() / "servicecenter",
    )
    carrier = AsteriskInstance(carrier_settings(plan, password), run_dir() / "testcarrier")
    phones = None
    if args.test_phones and endpoints:
        phones = AsteriskInstance(
            agent_phones_settings(plan, password, endpoints), run_dir() / "testagents"
        )
    try:
        agent_ids = [a.id for a in agents.agents] if agents is not None else []
        web, tls = server_extras(config, agent_ids, plan.servicecenter)
    except WebSetupError as exc:
        print(f"stadtruf up: {exc}", file=sys.stderr)
        return 1
    try:
        rootfs = rootfs_path()
        clock = running_clock(args.clock_start)
        install_prompts(config, center.directory, rootfs, agents=agents, clock=clock)
        center.start()
        carrier.start()
        if phones is not None:
            phones.start()
        print(
            f"stadtruf: ServiceCenter SIP {center.settings.sip_uri} (trunk from "
            f"{plan.carrier}), ARI {center.settings.ari_url}; test carrier SIP "
            f"{carrier.settings.sip_uri}, ARI {carrier.settings.ari_url}"
            f"{_agents_summary(agents, endpoints, phones)}; agent state API "
            f"http://{plan.servicecenter}:{args.api_port}/agents (Basic <agent>:<SIP password>, "
            f"passwords in {_write_passwords(endpoints)}, or Bearer $STADTRUF_API_TOKEN)"
            f"{_web_summary(web is not None, tls is not None, plan.servicecenter, args.api_port)}. "
            "Ctrl-C stops.",
            file=sys.stderr,
        )
        settings = AriSettings(url=center.settings.ari_url, user=ARI_USER, password=password)
        live, bind = managed_instance_config(
            args.config, config, center.directory, rootfs, agents=agents, clock=clock
        )
        agent_state = AgentStateFile(run_dir() / "agent-state.json")
        first_start = not agent_state.path.exists()
        demo_logins = [e.id for e in endpoints] if phones is not None and first_start else []
        overrides = OverrideStore(overrides_path(), clock)
        with call_records(config, clock) as records:
            service = build_service(
                settings,
                live,
                agents=agents,
                callbacks=CallbackStore(run_dir() / "callbacks.jsonl"),
                agent_state=agent_state,
                # The demo's agents start logged in, so a test call reaches a phone at once;
                # after that, what the agents chose (saved in agent_state) holds.
                logged_in=demo_logins,
                clock=clock,
                records=records,
                overrides=overrides.current,
            )
            bind(service.app)
            api = ApiSettings(
                host=plan.servicecenter,
                port=args.api_port,
                passwords={e.id: e.password for e in endpoints},
                overrides=overrides,
                web=web,
                ssl_context=tls,
            )
            refresh = closed_prompt_refresher(
                live, center.directory, rootfs, clock, overrides.current
            )
            guard = guard_instance(
                service, config, center.directory, center.etc, always_trusted=[plan.carrier]
            )
            with written_pid():
                event_loop.run(run_service(service, live, api, refresh, tasks=[guard.run]))
    except AsteriskStartError as exc:
        print(f"stadtruf up: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        pass
    finally:
        if phones is not None:
            phones.stop()
        carrier.stop()
        center.stop()
    return 0


def _agents_summary(
    agents: AgentsConfig | None, endpoints: list[AgentEndpoint], phones: AsteriskInstance | None
) -> str:
    if agents is None:
        return "; no agents file"
    if phones is None:
        return f"; {len(endpoints)} of {len(agents.agents)} agents have an endpoint, no test phones"
    return (
        f"; test agents' phones ({len(endpoints)}) register from {phones.settings.bind_address}, "
        f"ARI {phones.settings.ari_url}"
    )


def agent_phone_endpoints(agents: AgentsConfig, args: argparse.Namespace) -> list[AgentEndpoint]:
    """The agents' endpoints for this run; agents that cannot have one are reported, skipped.

    With test phones, an agent without a password of its own gets a random one (both sides
    are rendered from the same list); without, only real passwords count.
    """
    fallback = demo_passwords(agents) if args.test_phones else None
    endpoints, problems = agent_endpoints(
        agents, os.environ, agents_path(args.config).parent, fallback=fallback
    )
    for problem in problems:
        print(f"{problem} – Agent übersprungen", file=sys.stderr)
    return endpoints


def _write_passwords(endpoints: list[AgentEndpoint]) -> Path:
    """The agents' SIP passwords of this run, for a softphone or the API (mode 0600)."""
    path = run_dir() / "agent-passwords"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text("".join(f"{e.id} {e.password}\n" for e in endpoints))
    return path


def _web_summary(on: bool, tls: bool, host: str, port: int) -> str:
    if not on:
        return "; web UI off (no users: stadtruf web-user NAME --role supervisor|agent)"
    return f"; web UI {'https' if tls else 'http'}://{host}:{port}/ui/"
