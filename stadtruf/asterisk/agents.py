"""PJSIP for the agents' phones, rendered from the agents config: no hand-edited pjsip.conf.

Two renderings of the same list: the ServiceCenter's endpoints (the phones register to it),
and, for tests and trials, the phones themselves as a third Asterisk that registers each agent
from its own loopback address (never the carrier's: PJSIP matches the trunk by address first).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

_ENDPOINT_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class AgentEndpoint:
    id: str  # also the SIP user name, e.g. agent-101
    password: str = field(repr=False)

    def __post_init__(self) -> None:
        if not _ENDPOINT_ID.match(self.id):
            raise ValueError(f"not a usable endpoint name: {self.id!r}")
        if not self.password or any(c in self.password for c in "\r\n;[]"):
            raise ValueError(
                f"{self.id}: the password is empty or has characters pjsip.conf cannot hold"
            )


def _media(bind_address: str) -> list[str]:
    return [
        "disallow = all",
        "allow = alaw,ulaw,g722",
        "dtmf_mode = rfc4733",
        "direct_media = no",
        "rtp_symmetric = yes",
        f"media_address = {bind_address}",
        "bind_rtp_to_media_address = yes",
    ]


def _auth(agent: AgentEndpoint) -> list[str]:
    return [
        "",
        f"[{agent.id}]",
        "type = auth",
        "auth_type = userpass",
        f"username = {agent.id}",
        f"password = {agent.password}",
    ]


def render_servicecenter_endpoints(agents: Iterable[AgentEndpoint], bind_address: str) -> str:
    """`pjsip_agents.conf` for the ServiceCenter (included by its pjsip.conf)."""
    out = [
        "; Rendered by stadtruf from config/agents.yaml. Do not edit; secrets come from the env."
    ]
    for agent in agents:
        out += [
            "",
            f"[{agent.id}]",
            "type = endpoint",
            "transport = transport-udp",
            "context = from-agents",
            f"auth = {agent.id}",
            f"aors = {agent.id}",
            "language = de",
            "send_pai = yes",
            *_media(bind_address),
            *_auth(agent),
            "",
            f"[{agent.id}]",
            "type = aor",
            "max_contacts = 1",
            "remove_existing = yes",
            "qualify_frequency = 30",
        ]
    return "\n".join(out) + "\n"


def render_phones(
    agents: Iterable[AgentEndpoint], bind_address: str, registrar: str, registrar_port: int
) -> str:
    """`pjsip_phones.conf` for the test agents' Asterisk: one registration per agent."""
    server = f"sip:{registrar}:{registrar_port}"
    out = ["; Rendered by stadtruf: the agents' phones, registering to the ServiceCenter."]
    for agent in agents:
        out += [
            "",
            f"[{agent.id}]",
            "type = registration",
            "transport = transport-udp",
            f"outbound_auth = {agent.id}",
            f"server_uri = {server}",
            f"client_uri = sip:{agent.id}@{registrar}:{registrar_port}",
            f"contact_user = {agent.id}",
            "retry_interval = 2",
            "expiration = 300",
            # line=yes tags the contact, so a call to it is matched to this phone's endpoint.
            "line = yes",
            f"endpoint = {agent.id}",
            *_auth(agent),
            "",
            f"[{agent.id}]",
            "type = endpoint",
            "transport = transport-udp",
            "context = from-servicecenter",
            f"aors = {agent.id}",
            f"outbound_auth = {agent.id}",
            # A call the phone places is From its account, as a desk phone's: the
            # ServiceCenter identifies the agent's endpoint by that user name.
            f"from_user = {agent.id}",
            *_media(bind_address),
            "",
            f"[{agent.id}]",
            "type = aor",
            f"contact = {server}",
        ]
    return "\n".join(out) + "\n"
