"""The call records store: a record for every call, written off the call path.

The call path hands each life event to `RecordStore.record` (and the queue an agent's wrap-up
time to `wrap_up`): both only put it on an in-memory queue and return at once, so a slow or
unreachable database never delays a caller. One writer thread takes what has queued up, folds
it into the records of the calls that are up (`core.record`), and writes the changed rows in
one transaction: a row appears as the call arrives and is completed as it ends.

Crash-safe: while a call is up, the writer refreshes its `last_seen_at` every `heartbeat_s`;
at the next start, rows a killed process left open are ended there as outcome "lost"
(`records_db.close_lost`). A call the restarted app goes on with is reopened by its next event.
`close` writes everything still queued before it returns: nothing is lost on a clean stop.
If the database fails, the writer keeps the changes in memory and retries.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from stadtruf.config.load import ServiceCenterConfig
from stadtruf.core.lifecycle import Arrived, Happened
from stadtruf.core.record import (
    CallerNumberStorage,
    CallRecord,
    for_storage,
    seen,
    step,
    with_wrap_up,
)
from stadtruf.store import records_db
from stadtruf.store.records_schema import call_records, from_row

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class _WrapUp:
    call_id: str
    seconds: float


@dataclass(frozen=True)
class _Flush:
    done: threading.Event


class _Stop:
    pass


_Item = Happened | _WrapUp | _Flush | _Stop


class RecordStore:
    """Records of every call in one database; see the module docstring.

    Use `RecordStore.open(url, …)` at start: it migrates the schema and closes lost rows
    (blocking), then starts the writer thread. `close()` blocks until all is written.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        caller_number: CallerNumberStorage = "area_code",
        area_codes: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
        heartbeat_s: float = 10.0,
        retry_s: float = 1.0,
        batch_max: int = 1000,
        linger_s: float = 0.2,
    ) -> None:
        self.engine = engine
        self._caller_number: CallerNumberStorage = caller_number
        self._area_codes = tuple(area_codes)
        self._clock = clock
        self._heartbeat_s = heartbeat_s
        self._retry_s = retry_s
        self._batch_max = batch_max
        # After the first event, wait this long for more: one transaction per call's burst of
        # events (arrived, origin, menu, …) instead of one per event. The row still exists
        # within a fraction of a second of the call's arrival.
        self._linger_s = linger_s
        self._queue: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        self._open: dict[str, CallRecord] = {}  # calls up, or written not yet
        self._dirty: set[str] = set()
        self._waiting: list[threading.Event] = []
        self._thread = threading.Thread(target=self._run, name="call-records", daemon=True)
        self._closed = False
        self._give_up_at = float("inf")  # monotonic; set by close()

    @classmethod
    def open(
        cls,
        url: str,
        *,
        caller_number: CallerNumberStorage = "area_code",
        area_codes: Iterable[str] = (),
        clock: Callable[[], float] = time.time,
        heartbeat_s: float = 10.0,
    ) -> RecordStore:
        engine = records_db.connect(url)
        try:
            records_db.migrate(engine)
            lost = records_db.close_lost(engine)
        except BaseException:
            engine.dispose()
            raise
        if lost:
            log.warning("call records: calls left open by a stopped process", lost=lost)
        store = cls(
            engine,
            caller_number=caller_number,
            area_codes=area_codes,
            clock=clock,
            heartbeat_s=heartbeat_s,
        )
        store._thread.start()
        return store

    # --- The call path: never blocks -------------------------------------------------------

    def record(self, happened: Happened) -> None:
        """Take one life event of a call (returns at once; written by the writer thread)."""
        self._queue.put(happened)

    def wrap_up(self, call_id: str, seconds: float) -> None:
        """The agent's wrap-up time after a call (returns at once)."""
        self._queue.put(_WrapUp(call_id, seconds))

    # --- Shell ----------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> bool:
        """Block until everything handed in so far is written; False on timeout."""
        done = threading.Event()
        self._queue.put(_Flush(done))
        return done.wait(timeout)

    def close(self, timeout: float = 30.0) -> None:
        """Write everything still queued, stop the writer, release the database (blocks)."""
        if self._closed:
            return
        self._closed = True
        self._give_up_at = time.monotonic() + timeout
        self._queue.put(_Stop())
        if self._thread.ident is not None:  # started (by `open`)
            self._thread.join(timeout)
        self.engine.dispose()

    def __enter__(self) -> RecordStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- The writer thread ------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        next_beat = self._clock() + self._heartbeat_s
        while True:
            wait = self._retry_s if self._dirty else self._heartbeat_s
            for item in self._take(wait):
                if isinstance(item, _Stop):
                    stopping = True
                elif isinstance(item, _Flush):
                    self._waiting.append(item.done)
                else:
                    self._apply(item)
            now = self._clock()
            if now >= next_beat:
                next_beat = now + self._heartbeat_s
                self._beat(now)
            written = self._write()
            if not self._dirty:
                for done in self._waiting:
                    done.set()
                self._waiting.clear()
            if stopping and not self._dirty:
                return
            if stopping and time.monotonic() >= self._give_up_at:
                log.error("call records: database unreachable at stop", unwritten=len(self._dirty))
                return
            if stopping and not written:
                time.sleep(self._retry_s)

    def _take(self, timeout: float) -> list[_Item]:
        """What has queued up: the first item within `timeout`, then more for `linger_s`."""
        try:
            items = [self._queue.get(timeout=timeout)]
        except queue.Empty:
            return []
        if not isinstance(items[0], _Stop | _Flush):
            time.sleep(self._linger_s)
        while len(items) < self._batch_max:
            try:
                items.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return items

    def _apply(self, item: Happened | _WrapUp) -> None:
        record = self._open.get(item.call_id)
        if record is None and not (isinstance(item, Happened) and isinstance(item.event, Arrived)):
            record = self._load(item.call_id)
        if isinstance(item, _WrapUp):
            if record is None:
                log.warning("call records: wrap-up for an unknown call", call_id=item.call_id)
                return
            record = with_wrap_up(record, item.seconds)
        else:
            record = step(record, item)
        self._open[item.call_id] = for_storage(record, self._caller_number, self._area_codes)
        self._dirty.add(item.call_id)

    def _load(self, call_id: str) -> CallRecord | None:
        """A call not in memory: arrived before a restart, or already written and done."""
        try:
            with self.engine.connect() as connection:
                query = sa.select(call_records).where(call_records.c.call_id == call_id)
                row = connection.execute(query).first()
        except SQLAlchemyError as error:
            # Rare (restart plus a failing database); the row is then rebuilt from here on.
            log.error("call records: cannot read a call", call_id=call_id, error=str(error))
            return None
        return None if row is None else from_row(row._mapping)

    def _beat(self, now: float) -> None:
        for call_id, record in self._open.items():
            if not record.complete:
                self._open[call_id] = seen(record, now)
                self._dirty.add(call_id)

    def _write(self) -> bool:
        if not self._dirty:
            return False
        batch = [self._open[call_id] for call_id in sorted(self._dirty)]
        try:
            with self.engine.begin() as connection:
                records_db.write(connection, batch)
        except SQLAlchemyError as error:
            log.error("call records: write failed, will retry", calls=len(batch), error=str(error))
            return False
        self._dirty.clear()
        for record in batch:
            if record.complete:
                del self._open[record.call_id]
        return True


def open_records(
    config: ServiceCenterConfig, run_dir: Path, clock: Callable[[], float] = time.time
) -> RecordStore:
    """The store as `service-center.yaml` says (`call_records:`), migrated and started."""
    settings = config.service_center.call_records
    return RecordStore.open(
        records_db.database_url(settings, config.directory, run_dir),
        caller_number=settings.caller_number,
        area_codes=config.area_codes.keys(),
        clock=clock,
    )
