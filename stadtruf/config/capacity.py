"""The `capacity:` section of service-center.yaml: RTP port range and concurrent-call limit.

Both end up in Asterisk (rtp.conf and the dialplan global STADTRUF_MAX_CALLS, see
stadtruf/asterisk/capacity.py); `[stadtruf-entry]` refuses calls past the limit with SIP 503
before they take an RTP port. Field descriptions are for the admin's editor, in German.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from stadtruf.config.problems import Problem
from stadtruf.config.yamlsource import Source
from stadtruf.core.capacity import LEGS_PER_CALL, calls_carried, rtp_legs

# Sized for the goal of 2,000 concurrent legs with headroom: 5,000 legs, 2,500 calls.
DEFAULT_RTP_PORT_START = 20000
DEFAULT_RTP_PORT_END = 29999

Port = Annotated[int, Field(ge=1024, le=65535)]


class Capacity(BaseModel):
    """How many calls the ServiceCenter takes at once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    rtp_port_start: Port = Field(
        default=DEFAULT_RTP_PORT_START,
        description="Erster RTP-Port (rtp.conf rtpstart); jedes Gesprächsbein braucht zwei Ports",
    )
    rtp_port_end: Port = Field(
        default=DEFAULT_RTP_PORT_END, description="Letzter RTP-Port (rtp.conf rtpend)"
    )
    max_calls: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="Höchstzahl gleichzeitiger Anrufe; darüber lehnt Asterisk neue Anrufe sofort "
        "mit SIP 503 ab. Ohne Angabe: was der RTP-Bereich trägt (Ports / 4)",
    )

    @model_validator(mode="after")
    def _range(self) -> Capacity:
        if rtp_legs(self.rtp_port_start, self.rtp_port_end) < LEGS_PER_CALL:
            raise ValueError(
                f"RTP-Bereich {self.rtp_port_start}–{self.rtp_port_end} ist leer oder zu klein: "
                "rtp_port_end muss über rtp_port_start liegen (mindestens 4 Ports)"
            )
        return self

    @property
    def carried(self) -> int:
        """Concurrent calls the RTP range carries."""
        return calls_carried(self.rtp_port_start, self.rtp_port_end)

    @property
    def call_limit(self) -> int:
        """The limit Asterisk enforces: max_calls, else what the range carries."""
        return self.max_calls if self.max_calls is not None else self.carried


def check_capacity(source: Source, capacity: Capacity) -> Iterator[Problem]:
    """A limit above what the RTP range carries would bring back the silent cap."""
    if capacity.max_calls is not None and capacity.max_calls > capacity.carried:
        legs = rtp_legs(capacity.rtp_port_start, capacity.rtp_port_end)
        yield source.problem(
            ("capacity", "max_calls"),
            f"max_calls {capacity.max_calls} trägt der RTP-Bereich "
            f"{capacity.rtp_port_start}–{capacity.rtp_port_end} nicht: {legs} Gesprächsbeine, "
            f"je Anruf bis zu {LEGS_PER_CALL}, also höchstens {capacity.carried} Anrufe. "
            "max_calls senken oder rtp_port_end erhöhen",
        )
