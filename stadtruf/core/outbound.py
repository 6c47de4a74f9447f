"""Which numbers may be dialled out of the service center, by whom: the toll-fraud allow-list.

A call leaves the service center only towards a number someone configured:

- a caller's transfer (menu ``transfer:``, queue ``overflow: {transfer: …}``) only to those
  transfer targets;
- an agent (dialling from the phone, or a blind transfer) to those transfer targets, the
  ``office_numbers`` of service-center.yaml and the other agents (internal calls).

Everything else (international ``00…``, premium ``0900…``, any other number) is refused by the
dialplan before an INVITE leaves (`stadtruf.asterisk.dialplan` renders these lists). Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

from stadtruf.config import ServiceCenterConfig
from stadtruf.config.agents import AgentsConfig, OverflowTransfer
from stadtruf.config.model import walk


@dataclass(frozen=True)
class OutboundPolicy:
    transfer_numbers: tuple[str, ...]  # a caller may be transferred to these (normalized)
    agent_numbers: tuple[str, ...]  # an agent may dial and transfer to these (normalized)
    agents: tuple[str, ...]  # internal: agents' endpoints, e.g. agent-102


def outbound_policy(config: ServiceCenterConfig, agents: AgentsConfig | None) -> OutboundPolicy:
    overflow = (
        (action.transfer for _, action in walk(agents, OverflowTransfer)) if agents else iter(())
    )
    transfers = {*config.transfer_targets(), *(t for t in overflow if "/" not in t)}
    return OutboundPolicy(
        transfer_numbers=tuple(sorted(transfers)),
        agent_numbers=tuple(sorted({*transfers, *config.service_center.office_numbers})),
        agents=tuple(sorted(a.id for a in agents.agents)) if agents else (),
    )
