"""The integration tests' loopback addresses, clear of `./dev up`'s 127.0.0.1–3.

Who uses which host of the net (so that nothing collides when they run side by side): .21–.23
the session's Asterisks, .31–.35 `test_up`, .61–.63 `test_docker`'s containers, .71
`test_chaos`'s ARI relay, .72 its restart test's agent state API; the benchmarks use
127.0.0.41–.43 (`benchmarks.calls`) and .51–.53 (`benchmarks.capacity`).
"""

from __future__ import annotations

import os

from stadtruf.asterisk.topology import AddressPlan


def address_in_test_net(host: int) -> str:
    """A loopback address for the tests: 127.0.0.<host>, or in `STADTRUF_TEST_NET` (e.g.
    ``127.0.5``), so that two checkouts can run their integration tests side by side."""
    return f"{os.environ.get('STADTRUF_TEST_NET', '127.0.0')}.{host}"


TEST_PLAN = AddressPlan(
    servicecenter=address_in_test_net(21),
    carrier=address_in_test_net(22),
    agents=address_in_test_net(23),
)

__all__ = ["TEST_PLAN", "address_in_test_net"]
