"""Callback requests: callers who asked to be called back instead of waiting on (overflow),
and voicemails (a callback request with the caller's recorded message).

The store is one append-only file of JSON lines. A record is never rewritten: marking a
request done appends the whole updated record, and on reading a later line for the same id
wins. So a crash can at worst cut off the line being written, which the reader skips with a
warning; every line written before stays. `add` fsyncs before it returns, so a caller who
heard "we will call you back" is on disk.

Requests are worked in the order the callers first joined the queue (`queued_at`): a caller
who waited ten minutes and then chose a callback keeps their place ahead of later callers.

The line format and the fold over lines are pure functions (`to_line`, `from_line`,
`fold_lines`, `ordered`); `CallbackStore` only adds the file.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args

import structlog

from stadtruf.store.durable import fsync_dir, write_atomically

log = structlog.get_logger(__name__)

Status = Literal["open", "done"]
STATUSES: tuple[str, ...] = get_args(Status)


class CallbackError(Exception):
    """A request the store cannot take or change (unknown id, invalid record)."""


class UnknownCallback(CallbackError, KeyError):
    pass


def utc_iso(moment: datetime) -> str:
    """`moment` in UTC as ISO 8601 (`2025-03-04T09:15:00+00:00`), the form the store keeps."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one (datetime.now(UTC))")
    return moment.astimezone(UTC).isoformat()


def parse_utc(text: str) -> datetime:
    """An ISO 8601 UTC timestamp (`+00:00` or `Z`) as an aware datetime; ValueError otherwise.

    Local times are refused rather than converted: a record written with one is a bug upstream.
    """
    moment = datetime.fromisoformat(text)
    if moment.utcoffset() != timedelta(0):
        raise ValueError(f"not a UTC timestamp: {text!r}")
    return moment


@dataclass(frozen=True)
class CallbackRequest:
    id: str
    number: str  # the number to call back, as the caller gave or presented it
    client: str
    topic: str
    language: str
    requested_at: str  # ISO 8601 UTC: when the callback was asked for
    queued_at: str  # ISO 8601 UTC: when the caller first joined the queue (the list's order)
    waited_s: float
    status: Status = "open"
    done_by: str | None = None  # agent id; None while open or when a supervisor closed it
    # A voicemail: the caller's message, stored by Asterisk under this name (ARI
    # /recordings/stored/{name}), and its length. None for a plain callback request.
    recording: str | None = None
    recording_s: float | None = None

    def __post_init__(self) -> None:
        # Checked here so a bad record is refused by `add` rather than poisoning the file.
        for name in ("id", "number", "client", "topic", "language"):
            if not isinstance(getattr(self, name), str):
                raise ValueError(f"{name} must be a string")
        # Only what the list cannot do without; an unknown client ("") must not lose a request.
        # A voicemail without a number is still a message (the caller may say the number).
        for name in ("id", "number") if self.recording is None else ("id",):
            if not getattr(self, name):
                raise ValueError(f"{name} must not be empty")
        for name in ("requested_at", "queued_at"):
            value = getattr(self, name)
            if not isinstance(value, str):
                raise ValueError(f"{name} must be an ISO 8601 string")
            parse_utc(value)
        if (
            isinstance(self.waited_s, bool)
            or not isinstance(self.waited_s, int | float)
            or not math.isfinite(self.waited_s)
            or self.waited_s < 0
        ):
            raise ValueError("waited_s must be a finite number ≥ 0")
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}")
        if self.done_by is not None and not isinstance(self.done_by, str):
            raise ValueError("done_by must be an agent id or null")
        if self.recording is not None and not (
            isinstance(self.recording, str) and _safe_name(self.recording)
        ):
            raise ValueError("recording must be a plain recording name (letters, digits, - _)")
        if self.recording_s is not None and (
            isinstance(self.recording_s, bool)
            or not isinstance(self.recording_s, int | float)
            or not math.isfinite(self.recording_s)
            or self.recording_s < 0
        ):
            raise ValueError("recording_s must be a finite number ≥ 0 or null")

    @property
    def kind(self) -> Literal["callback", "voicemail"]:
        return "voicemail" if self.recording is not None else "callback"

    def done(self, agent: str | None) -> CallbackRequest:
        return replace(self, status="done", done_by=agent)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _safe_name(name: str) -> bool:
    # The name becomes a URL path segment and a file name in Asterisk's spool: no paths.
    return 0 < len(name) <= 80 and all(c.isascii() and (c.isalnum() or c in "-_") for c in name)


def past_retention(request: CallbackRequest, now: datetime, days: int) -> bool:
    """Whether `request` has been kept `days` days since it was asked for (open or done: a
    callback nobody made in a month is not made any more; docs/security.md)."""
    return parse_utc(request.requested_at) <= now - timedelta(days=days)


# --- Pure: the line format and the fold ---------------------------------------------------------


def to_line(request: CallbackRequest) -> str:
    """One record as one line (with its newline); JSON never contains a raw newline."""
    # ASCII only: the file splits on "\n" alone, whatever Unicode line breaks a value holds.
    return json.dumps(request.to_json(), sort_keys=True) + "\n"


def from_line(line: str) -> CallbackRequest:
    """Parse one line; ValueError for anything that is not a whole, valid record."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ValueError("not a JSON object")
    try:
        return CallbackRequest(**data)
    except TypeError as exc:  # missing or unknown keys
        raise ValueError(str(exc)) from None


@dataclass(frozen=True)
class BadLine:
    number: int  # 1-based
    reason: str
    last: bool  # the file's last line: typically a write cut off by a crash


def fold_lines(lines: Iterable[str]) -> tuple[dict[str, CallbackRequest], list[BadLine]]:
    """The current record per id (a later line wins) and the lines that could not be read."""
    records: dict[str, CallbackRequest] = {}
    bad: list[tuple[int, str]] = []
    number = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            request = from_line(line)
        except ValueError as exc:
            bad.append((number, str(exc)))
            continue
        records[request.id] = request
    return records, [BadLine(n, reason, n == number) for n, reason in bad]


def ordered(
    records: Mapping[str, CallbackRequest] | Iterable[CallbackRequest],
    status: Status | None = None,
) -> list[CallbackRequest]:
    """The requests in working order (first queued first), optionally only one status."""
    values = records.values() if isinstance(records, Mapping) else records
    chosen = [r for r in values if status is None or r.status == status]
    # Compared as instants, not strings: `Z` and `+00:00`, or differing precision, sort right.
    return sorted(chosen, key=lambda r: (parse_utc(r.queued_at), parse_utc(r.requested_at), r.id))


# --- The file ---------------------------------------------------------------------------------


class CallbackStore:
    """Callback requests in an append-only JSON-lines file at `path`.

    Methods block on file I/O (and fsync): call them from a thread in async code
    (`asyncio.to_thread`). A lock keeps concurrent threads from interleaving writes.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        # A cut-off line stays in the file for good: warn about it once, not on every read.
        self._warned: set[tuple[int, str]] = set()

    def add(self, request: CallbackRequest) -> None:
        """Append `request` and make it durable before returning."""
        with self._lock:
            self._append(request)
        log.info(
            "callback.added",
            callback=request.id,
            client=request.client,
            topic=request.topic,
            status=request.status,
        )

    def list(self, status: Status | None = None) -> list[CallbackRequest]:
        """Current requests in working order; unreadable lines are skipped with a warning."""
        with self._lock:
            records = self._read()
        return ordered(records, status)

    def get(self, callback_id: str) -> CallbackRequest | None:
        with self._lock:
            return self._read().get(callback_id)

    def mark_done(self, callback_id: str, agent: str | None) -> CallbackRequest:
        """Close a request; returns the record as now stored.

        Closing one that is already done changes nothing and returns it as it is, so the
        first agent to close it stays on record (the caller compares `done_by`).
        """
        with self._lock:
            current = self._read().get(callback_id)
            if current is None:
                raise UnknownCallback(callback_id)
            if current.status == "done":
                return current
            updated = current.done(agent)
            self._append(updated)
        log.info("callback.done", callback=callback_id, done_by=agent)
        return updated

    def purge(self, now: datetime, days: int) -> tuple[CallbackRequest, ...]:
        """Delete every request past its retention (`past_retention`); the ones deleted.

        The file is rewritten with the rest (atomically: old or new file after a crash), so
        the deleted requests' numbers are gone from disk, not only hidden by a later line."""
        with self._lock:
            records = self._read()
            gone = [r for r in records.values() if past_retention(r, now, days)]
            if not gone:
                return ()
            kept = [r for r in records.values() if not past_retention(r, now, days)]
            write_atomically(self.path, "".join(to_line(r) for r in kept).encode("utf-8"))
        log.info("callback.purged", deleted=len(gone), kept=len(kept), retention_days=days)
        return tuple(gone)

    # Under the lock from here on.

    def _read(self) -> dict[str, CallbackRequest]:
        try:
            with self.path.open(encoding="utf-8", errors="replace", newline="\n") as f:
                records, bad = fold_lines(f)
        except FileNotFoundError:
            return {}
        for line in bad:
            if (line.number, line.reason) in self._warned:
                continue
            self._warned.add((line.number, line.reason))
            log.warning(
                "callback.line_skipped",
                path=str(self.path),
                line=line.number,
                reason=line.reason,
                cut_off=line.last,
            )
        return records

    def _append(self, request: CallbackRequest) -> None:
        data = to_line(request).encode("utf-8")
        created = not self.path.exists()
        if created:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a+b") as f:
            # A crash may have left a cut-off last line; start on a fresh line so the new
            # record is not glued to it and lost with it.
            if f.seek(0, os.SEEK_END) > 0:
                f.seek(-1, os.SEEK_END)
                if f.read(1) != b"\n":
                    data = b"\n" + data
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if created:
            fsync_dir(self.path.parent)
