"""The agents' mirror in Asterisk: one ARI device state per agent, for the fail-open dialplan.

`stadtruf.core.fallback` decides the states; this only writes what changed, in order (one
lock: two writers must not let an older state land after a newer one), and everything again
after each (re)connect, when Asterisk may have restarted or missed a write. A failed write is
logged and retried with the next change or connect; the queue never waits for it to succeed.
"""

from __future__ import annotations

import asyncio

import structlog

from ari_app.errors import AriError
from ari_app.port import Ari
from stadtruf.core import fallback
from stadtruf.core.queue_state import QueueState

log = structlog.get_logger(__name__)


class AgentMirror:
    def __init__(self) -> None:
        self._written: dict[str, str] | None = None  # None: not known to be in Asterisk
        self._lock = asyncio.Lock()

    def forget(self) -> None:
        """Asterisk may have lost or missed writes (a new connection): write all next time."""
        self._written = None

    async def update(self, rest: Ari, state: QueueState) -> None:
        async with self._lock:
            wanted = fallback.mirror(state)
            changes = fallback.mirror_changes(self._written, wanted)
            if not changes:
                return
            # A device whose write failed stays out of `written`: the next update retries it.
            written = dict(self._written or {})
            failed = []
            for device, value in sorted(changes.items()):
                try:
                    await rest.set_device_state(device, value)
                except AriError as exc:
                    log.warning("queue.mirror_not_written", device=device, error=str(exc))
                    failed.append(device)
                    written.pop(device, None)
                    continue
                written[device] = value
            self._written = written
            log.info("queue.mirror_written", changes=changes, failed=failed)
