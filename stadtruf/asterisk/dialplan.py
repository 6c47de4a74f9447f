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
from stadtruf.config.agents import AgentsConfig, QueueRules
from stadtruf.core import fallback
from stadtruf.core.numbers import carrier_forms
from stadtruf.core.outbound import OutboundPolicy, outbound_policy
from stadtruf.core.prompts import INSTANCE_SOUNDS
from stadtruf.core.queue_prompts import entry_announcement

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


def render_fallback_agents(agents: Iterable[str], ring_timeout: int, prompt: str) -> str:
    """`[stadtruf-fallback-agents]`: a Gosub that returns the `Dial()` list of the agents to
    ring now (empty: nobody) and sets how long to ring and what to say while nobody is free."""
    lines = [
        "[stadtruf-fallback-agents]",
        f"exten => s,1,Set(STADTRUF_FALLBACK_RING_TIMEOUT={ring_timeout})",
        f" same => n,Set(STADTRUF_FALLBACK_PROMPT={prompt})",
        " same => n,Set(LOCAL(ring)=)",
    ]
    for agent in sorted(set(agents)):
        device, phone = fallback.mirror_device(agent), fallback.phone_device(agent)
        lines += [
            f" same => n,Gosub(stadtruf-fallback-agent,s,1({device},{phone}))",
            " same => n,Set(LOCAL(ring)=${ring}${GOSUB_RETVAL})",
        ]
    lines.append(" same => n,Return(${ring:1})")
    return "\n".join(lines) + "\n"


def fallback_agents_context(config: ServiceCenterConfig, agents: AgentsConfig | None) -> str:
    """The fallback's agents from the agents file (none without one), rung as long as the
    queue rings one by default, with the queue's entry announcement as the apology."""
    ring_timeout = agents.defaults.ring_timeout if agents is not None else None
    seconds = round(ring_timeout if ring_timeout is not None else QueueRules.ring_timeout)
    apology = entry_announcement(config.service_center.default_language)[0]
    return render_fallback_agents(
        [a.id for a in agents.agents] if agents is not None else (),
        max(1, seconds),
        f"{INSTANCE_SOUNDS}/{apology.key}",
    )


def render_numbers_conf(
    routed_numbers: Iterable[str], policy: OutboundPolicy, fallback_agents: str | None = None
) -> str:
    """The whole `stadtruf-numbers.conf` (without `fallback_agents`: nobody to ring)."""
    if fallback_agents is None:
        fallback_agents = render_fallback_agents((), round(QueueRules.ring_timeout), "")
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
            "; Whom the fail-open may ring while the Stasis app is away ([stadtruf-fallback]).",
            fallback_agents,
        ]
    )


def numbers_conf(config: ServiceCenterConfig, agents: AgentsConfig | None) -> str:
    """`stadtruf-numbers.conf` for a loaded config and agents file."""
    return render_numbers_conf(
        config.routed_numbers,
        outbound_policy(config, agents),
        fallback_agents_context(config, agents),
    )
