"""Render `stadtruf-numbers.conf`: what may reach the Stasis app, and what may be dialled out.

Pure: numbers in, dialplan text out.

- `[stadtruf-numbers]`: every routed number (`ServiceCenterConfig.routed_numbers`) in every
  form a carrier may send it (`stadtruf.core.numbers.carrier_forms`, the same rule origin
  resolution reads dialled numbers with); anything not listed is refused by
  `dialplan/stadtruf.conf` without answering.
- The allow-lists of `stadtruf.core.outbound`: one context per door out of the service center,
  included by the static context of that door. A listed number continues into the static
  context that dials it; the static context's catch-all refuses everything else.
"""

from __future__ import annotations

from collections.abc import Iterable

from stadtruf.config import ServiceCenterConfig
from stadtruf.config.agents import AgentsConfig
from stadtruf.core.numbers import carrier_forms
from stadtruf.core.outbound import OutboundPolicy, outbound_policy

HEADER = "; Rendered by stadtruf from config/ when the instance starts. Do not edit."

# The rendered allow-lists and the static contexts (dialplan/stadtruf.conf) their entries go on
# to: (allow-list, where a number goes, where an agent goes).
TRANSFER_TARGETS = ("stadtruf-transfer-targets", "stadtruf-transfer-out", None)
AGENT_TARGETS = ("stadtruf-agent-targets", "stadtruf-agent-out", "stadtruf-agent-internal")
AGENT_TRANSFER_TARGETS = (
    "stadtruf-agent-transfer-targets",
    "stadtruf-agent-transfer-out",
    "stadtruf-agent-transfer-internal",
)


def render_numbers_context(routed_numbers: Iterable[str]) -> str:
    """The `[stadtruf-numbers]` context included by `[from-carrier]`."""
    lines = ["[stadtruf-numbers]"]
    seen: set[str] = set()
    for number in sorted(set(routed_numbers), key=lambda n: (len(n), n)):
        for form in carrier_forms(number):
            if form not in seen:
                seen.add(form)
                lines.append(f"exten => {form},1,Goto(stadtruf-entry,${{EXTEN}},1)")
    return "\n".join(lines) + "\n"


def render_allow_list(
    names: tuple[str, str, str | None], numbers: Iterable[str], agents: Iterable[str] = ()
) -> str:
    """One allow-list context: each number goes on to `names[1]`, each agent to `names[2]`."""
    context, out, internal = names
    lines = [f"[{context}]"]
    seen: set[str] = set()
    entries = [(n, out) for n in sorted(set(numbers))]
    if internal is not None:
        entries += [(a, internal) for a in sorted(set(agents))]
    for extension, then in entries:
        if extension not in seen:  # an agent id that looks like a number stays a number
            seen.add(extension)
            lines.append(f"exten => {extension},1,Goto({then},${{EXTEN}},1)")
    return "\n".join(lines) + "\n"


def render_numbers_conf(routed_numbers: Iterable[str], policy: OutboundPolicy) -> str:
    """The whole `stadtruf-numbers.conf`."""
    return "\n".join(
        [
            HEADER,
            "; The numbers the carrier trunk may reach.",
            render_numbers_context(routed_numbers),
            "; Where a caller may be transferred (menus, queue overflow).",
            render_allow_list(TRANSFER_TARGETS, policy.transfer_numbers),
            "; Whom an agent's phone may call.",
            render_allow_list(AGENT_TARGETS, policy.agent_numbers, policy.agents),
            "; Where an agent may transfer a caller (blind transfer, SIP REFER).",
            render_allow_list(AGENT_TRANSFER_TARGETS, policy.agent_numbers, policy.agents),
        ]
    )


def numbers_conf(config: ServiceCenterConfig, agents: AgentsConfig | None) -> str:
    """`stadtruf-numbers.conf` for a loaded config and agents file."""
    return render_numbers_conf(config.routed_numbers, outbound_policy(config, agents))
