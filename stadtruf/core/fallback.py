"""Fail-open: whom the dialplan may ring while the Stasis app is not there (docs/decisions.md #12).

The app mirrors each agent into Asterisk as an ARI-controlled device state
(`Stasis:stadtruf-<agent>`, kept by Asterisk in AstDB, so it survives an Asterisk restart). The
rendered dialplan (`stadtruf.asterisk.dialplan.render_fallback_agents`) rings, when Stasis
fails, every agent whose mirror says `READY` and whose phone Asterisk itself sees registered
and idle (`DEVICE_STATE(PJSIP/<agent>)`, live, which no mirror could know better).

This module holds the app's half of that rule: an agent may be rung in fallback when logged
in and not paused. Busy, ringing or in wrap-up does not matter here: the phone's own device
state tells the dialplan whether it is free at the moment of the call.
"""

from __future__ import annotations

from collections.abc import Mapping

from stadtruf.core.queue_state import AgentState, QueueState

# ARI device states (PUT /deviceStates): what the dialplan compares against. NOT_INUSE also
# reads right on a phone's busy lamp (BLF hint on the device): logged in and ready.
READY = "NOT_INUSE"
NOT_READY = "UNAVAILABLE"

DEVICE_PREFIX = "Stasis:stadtruf-"


def may_ring_in_fallback(agent: AgentState) -> bool:
    """The one rule: logged in and not paused (a pause set during a call counts already)."""
    return agent.logged_in and agent.paused is None


def mirror_device(agent: str) -> str:
    """The device whose state mirrors `agent`, e.g. `Stasis:stadtruf-agent-101`."""
    return DEVICE_PREFIX + agent


def phone_device(agent: str) -> str:
    """The agent's phone (PJSIP endpoint named like the agent, `stadtruf.asterisk.agents`)."""
    return "PJSIP/" + agent


def mirror(state: QueueState) -> dict[str, str]:
    """Every agent's mirror device and the state it should have now."""
    return {
        mirror_device(agent.id): READY if may_ring_in_fallback(agent) else NOT_READY
        for agent in state.agents.values()
    }


def mirror_changes(written: Mapping[str, str] | None, wanted: Mapping[str, str]) -> dict[str, str]:
    """What to write so that Asterisk shows `wanted`, given what was `written` (None: unknown,
    e.g. after a (re)connect: everything). An agent gone from the config is set NOT_READY, so
    a stale READY never lets the dialplan ring someone the app no longer knows."""
    if written is None:
        return dict(wanted)
    changes = {device: value for device, value in wanted.items() if written.get(device) != value}
    for device, value in written.items():
        if device not in wanted and value != NOT_READY:
            changes[device] = NOT_READY
    return changes
