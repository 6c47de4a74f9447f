"""Opening-hours overrides ("closed today from 12:00 for a staff meeting"): a small JSON file.

Written by `stadtruf hours close/clear` and the API (`/hours/overrides`), read by the running
app for each new call (`current`, re-read only when the file changed). Expired overrides are
dropped on each write. The file is replaced atomically (write, fsync, rename), so a reader
never sees half a file.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import structlog

from stadtruf.core.hours import Override, current_overrides
from stadtruf.paths import run_dir

log = structlog.get_logger(__name__)


def overrides_path() -> Path:
    """Where `stadtruf hours`, the API and the running app find the overrides."""
    return run_dir() / "hours-overrides.json"


class OverrideStore:
    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of what `_cached` holds
        self._cached: tuple[Override, ...] = ()

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self._clock(), UTC)

    def _read(self) -> tuple[Override, ...]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return ()
        except (OSError, ValueError) as exc:
            log.error("hours.overrides_unreadable", path=str(self.path), error=str(exc))
            return ()
        found: list[Override] = []
        for item in data if isinstance(data, list) else ():
            try:
                found.append(Override.from_dict(item))
            except (ValueError, KeyError, TypeError) as exc:
                log.error("hours.override_skipped", item=item, error=str(exc))
        return tuple(found)

    def all(self) -> tuple[Override, ...]:
        """Every override not expired yet (the file as it is now)."""
        return current_overrides(self._read(), self._now())

    def current(self) -> tuple[Override, ...]:
        """As `all`, for the call path: re-read only when the file changed (one stat)."""
        try:
            stat = self.path.stat()
            seen: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            seen = None
        if seen != self._seen:
            self._cached, self._seen = self._read(), seen
        return current_overrides(self._cached, self._now())

    def add(self, override: Override) -> Override:
        """Store `override` with a new id; returns it as stored."""
        stored = replace(override, id=override.id or uuid.uuid4().hex[:8])
        with self._lock:
            self._write((*self.all(), stored))
        return stored

    def remove(self, override_id: str) -> bool:
        """Remove one by id; False if there is none."""
        with self._lock:
            kept = self.all()
            left = tuple(o for o in kept if o.id != override_id)
            if len(left) == len(kept):
                return False
            self._write(left)
        return True

    def _write(self, overrides: tuple[Override, ...]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_suffix(".tmp")
        with temporary.open("w", encoding="utf-8") as out:
            json.dump([o.to_dict() for o in overrides], out, ensure_ascii=False, indent=1)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(self.path)
