"""Deleting callers' personal data after its retention period (service-center.yaml
`privacy.callback_retention_days`, docs/security.md).

Once at start and then every hour: callback requests and voicemails older than the period are
deleted from the callback list, and each voicemail's recording from Asterisk's spool (ARI
`DELETE /recordings/stored/{name}`). The rule is `stadtruf.store.callbacks.past_retention`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

import structlog

from ari_app.application import StasisApplication
from ari_app.errors import AriError, AriNotFound
from ari_app.port import Ari
from stadtruf.store.callbacks import CallbackStore

log = structlog.get_logger(__name__)

EVERY_S = 3600.0


async def purge_once(
    store: CallbackStore, rest: Ari | None, days: int, now: datetime
) -> tuple[int, int]:
    """One round: (requests deleted, recordings deleted)."""
    gone = await asyncio.to_thread(store.purge, now, days)
    recordings = 0
    for request in gone:
        if request.recording is None or rest is None:
            continue
        try:
            await rest.delete_stored_recording(request.recording)
            recordings += 1
        except AriNotFound:
            pass  # deleted already (by hand, or a message that was never stored)
        except AriError as exc:
            # Next round tries nothing for it again (the request is gone): say so clearly.
            log.error(
                "privacy.recording_not_deleted",
                recording=request.recording,
                error=str(exc),
                hint="Sprachnachricht im Asterisk-Spool (recording/) von Hand löschen",
            )
    if gone:
        log.info("privacy.retention_applied", callbacks=len(gone), recordings=recordings)
    return len(gone), recordings


def connected_rest(app: StasisApplication) -> Ari | None:
    """The app's ARI client while it runs; None in a moment without (the next round tries)."""
    try:
        return app.rest
    except RuntimeError:
        return None


async def purge_forever(
    store: CallbackStore,
    rest: Callable[[], Ari | None],
    days: Callable[[], int],
    clock: Callable[[], float],
    every_s: float = EVERY_S,
) -> None:
    """`purge_once` at start and every `every_s` seconds until cancelled; `days` is read each
    round, so a reload's new period applies from the next round."""
    while True:
        try:
            await purge_once(store, rest(), days(), datetime.fromtimestamp(clock(), UTC))
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("privacy.retention_failed", path=str(store.path))
        await asyncio.sleep(every_s)


__all__ = ["EVERY_S", "connected_rest", "purge_forever", "purge_once"]
