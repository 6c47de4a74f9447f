"""How many calls an RTP port range carries: the admission limit's arithmetic.

Asterisk gives each call leg one RTP session on an even port, with RTCP on the odd port above
it, so a range carries half its ports as legs. A call may need two legs on the ServiceCenter
(the caller's, and the agent's or the transfer target's once it is connected), so the calls a
range carries are half its legs.
"""

from __future__ import annotations

LEGS_PER_CALL = 2


def rtp_legs(start: int, end: int) -> int:
    """RTP sessions (legs) in ``start..end`` inclusive: even ports whose odd neighbour fits."""
    first = start + (start % 2)
    return max(0, (end - first + 1) // 2)


def calls_carried(start: int, end: int) -> int:
    """Concurrent calls the range carries when every call has two legs."""
    return rtp_legs(start, end) // LEGS_PER_CALL
