"""Which Asterisk instances make up a service center on one machine, and their addresses.

The ServiceCenter's Asterisk and the test carrier (a second Asterisk playing the carrier and
the citizens, see asterisk-docker/testcaller/) each get their own loopback address, so both
use the standard ports and the trunk is identified by source address as with a real carrier.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from stadtruf.asterisk import capacity as capacity_conf
from stadtruf.asterisk.agents import AgentEndpoint, render_phones, render_servicecenter_endpoints
from stadtruf.asterisk.instance import InstanceSettings
from stadtruf.config.capacity import Capacity
from stadtruf.paths import asterisk_docker_dir, dialplan_dir

ARI_USER = "stadtruf"


@dataclass(frozen=True)
class AddressPlan:
    servicecenter: str = "127.0.0.1"
    carrier: str = "127.0.0.2"
    agents: str = "127.0.0.3"  # the test agents' phones; never the carrier's address
    sip_port: int = 5060
    http_port: int = 8088


# `./dev up` and the README use the default plan; tests use their own addresses
# (tests/support/addresses.py) so that they can run while a developer's service center is up.
DEFAULT_PLAN = AddressPlan()


def servicecenter_settings(
    plan: AddressPlan,
    password: str,
    numbers_conf: str,
    agents: Iterable[AgentEndpoint] = (),
    *,
    capacity: Capacity,
) -> InstanceSettings:
    """The ServiceCenter; `capacity` is service-center.yaml's (RTP range, call limit)."""
    return InstanceSettings(
        name="servicecenter",
        bind_address=plan.servicecenter,
        sip_port=plan.sip_port,
        http_port=plan.http_port,
        ari_user=ARI_USER,
        ari_password=password,
        rtp_start=capacity.rtp_port_start,
        rtp_end=capacity.rtp_port_end,
        values={
            "CARRIER_ADDRESS": plan.carrier,
            "CARRIER_PORT": str(plan.sip_port),
            "MAX_CALLS": capacity_conf.template_values(capacity)["MAX_CALLS"],
        },
        folders={"dialplan": dialplan_dir()},
        files={
            "stadtruf-numbers.conf": numbers_conf,  # stadtruf.asterisk.dialplan.numbers_conf
            "pjsip_agents.conf": render_servicecenter_endpoints(agents, plan.servicecenter),
        },
    )


def carrier_settings(plan: AddressPlan, password: str) -> InstanceSettings:
    return InstanceSettings(
        name="testcarrier",
        bind_address=plan.carrier,
        sip_port=plan.sip_port,
        http_port=plan.http_port,
        ari_user=ARI_USER,
        ari_password=password,
        rtp_start=30000,
        rtp_end=30999,
        templates=("asterisk", "testcaller"),
        values={
            "SERVICECENTER_ADDRESS": plan.servicecenter,
            "SERVICECENTER_PORT": str(plan.sip_port),
        },
    )


def agent_phones_settings(
    plan: AddressPlan, password: str, agents: Iterable[AgentEndpoint]
) -> InstanceSettings:
    return InstanceSettings(
        name="testagents",
        bind_address=plan.agents,
        sip_port=plan.sip_port,
        http_port=plan.http_port,
        ari_user=ARI_USER,
        ari_password=password,
        rtp_start=31000,
        rtp_end=31999,
        templates=("asterisk", "testagents"),
        values={
            "SERVICECENTER_ADDRESS": plan.servicecenter,
            "SERVICECENTER_PORT": str(plan.sip_port),
        },
        files={
            "pjsip_phones.conf": render_phones(
                agents, plan.agents, plan.servicecenter, plan.sip_port
            )
        },
    )


def rootfs_path() -> Path:
    """The cached root filesystem (built on first use)."""
    out = subprocess.run(
        [str(asterisk_docker_dir() / "rootfs.sh"), "path"],
        check=True,
        capture_output=True,
        text=True,
    )
    return Path(out.stdout.strip().splitlines()[-1])
