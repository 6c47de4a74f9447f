"""The capacity settings as Asterisk sees them: rtp.conf's range and the dialplan's limit.

Both go through the config templates (`@@RTP_START@@`, `@@RTP_END@@` in rtp.conf,
`@@MAX_CALLS@@` in extensions.conf's [globals]), so `stadtruf up`, the tests and the Docker
entrypoint (which sources `capacity.env` written by `stadtruf asterisk render`) render the same.
"""

from __future__ import annotations

from stadtruf.config.capacity import Capacity

# The dialplan global that [stadtruf-capacity] compares the number of current calls with.
MAX_CALLS_VARIABLE = "STADTRUF_MAX_CALLS"
CAPACITY_ENV = "capacity.env"


def template_values(capacity: Capacity) -> dict[str, str]:
    """@@NAME@@ → value for the ServiceCenter's templates."""
    return {
        "RTP_START": str(capacity.rtp_port_start),
        "RTP_END": str(capacity.rtp_port_end),
        "MAX_CALLS": str(capacity.call_limit),
    }


def render_capacity_env(capacity: Capacity) -> str:
    """The same values as a shell file for asterisk-docker/docker-entrypoint.sh."""
    lines = ["# Rendered by stadtruf from service-center.yaml (capacity:). Do not edit."]
    lines += [f"STADTRUF_{name}={value}" for name, value in template_values(capacity).items()]
    return "\n".join(lines) + "\n"
