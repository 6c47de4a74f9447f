"""Call records on vs. off: what writing a record of every call costs the call path.

    .venv/bin/python -m benchmarks.records [--calls 300] [--rate 30] [--hold 4] [--rounds 2]
                                           [--postgres]

Not part of `./dev test`. Needs SIPp (`apt-get install sip-tester`). Starts the ServiceCenter's
Asterisk as benchmarks.calls does (rootfs, 127.0.0.41, the sample config) and drives 115 with
SIPp from the carrier's address, with the same load in every run. Each run has a fresh Stasis
app in this process (the app's clock at `OPEN_AT`), built like `stadtruf serve` builds it:

- off: `build_app(…, records=None)`;
- SQLite: `records=` a `RecordStore` on a fresh SQLite file (WAL, as in production);
- PostgreSQL (`--postgres`): the same on a throw-away PostgreSQL server on loopback
  (tests/support/postgres.py, `fsync=off` as in the tests).

The modes alternate round by round (off, SQLite, off, SQLite, …) so the machine's drift
cancels. Per mode it reports the answer time (INVITE → 200 OK, per call from SIPp's `-trace_rtt`,
whole milliseconds), how late a 10 ms sleep on the app's event loop wakes while the calls run
(a write that blocked the loop, or a writer thread hogging the GIL, shows there), the process's
CPU per call (the app plus the records writer thread, until every record is written; the
writer's share from /proc in brackets: the rest runs on the call path's thread) and the
records written (must equal the calls, all complete), with ratios to "off". Every run is bounded
(`--calls`, SIPp's `-timeout`, the subprocess timeout). Results go to docs/benchmarks.md by hand.
Exit status 0 when every call succeeded and every mode with records wrote one per call.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
import structlog

from ari_app.settings import AriSettings
from benchmarks.calls import OPEN_AT, sipp, start_servicecenter
from benchmarks.capacity import percentile
from stadtruf.config.load import ServiceCenterConfig
from stadtruf.paths import sample_config_dir
from stadtruf.service import LiveConfig, build_app, running_clock
from stadtruf.store import records_db
from stadtruf.store.records import RecordStore
from stadtruf.store.records_schema import call_records
from tests.support.postgres import PostgresServer

OFF = "off"
PROBE_S = 0.010  # the event-loop probe's sleep
WRITER_THREAD = "call-records"  # RecordStore's thread
IDLE_TIMEOUT_S = 30.0  # after SIPp: until the app has let go of every call


@dataclass
class Run:
    mode: str
    round: int
    calls: int
    successful: int = 0
    failed: int = 0
    answer_ms: list[float] = field(default_factory=list)
    lag_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0
    writer_cpu_s: float = 0.0  # of that, the records writer thread's
    records: int | None = None  # rows written; None with records off
    complete: int | None = None  # rows with an outcome (the call ended)
    left: int = 0  # calls the app still held after IDLE_TIMEOUT_S

    @property
    def ok(self) -> bool:
        written = self.records is None or self.records == self.complete == self.calls
        return self.successful == self.calls and not self.failed and not self.left and written


async def loop_lag(lags_ms: list[float]) -> None:
    """How late each `PROBE_S` sleep wakes, in ms, until cancelled."""
    loop = asyncio.get_running_loop()
    while True:
        started = loop.time()
        await asyncio.sleep(PROBE_S)
        lags_ms.append((loop.time() - started - PROBE_S) * 1000)


def answer_times(rundir: Path) -> list[float]:
    """Per call ms from INVITE to 200 OK: SIPp's `-trace_rtt` file (`date;rtt;rtd_no`)."""
    times = []
    for path in rundir.glob("*_rtt.csv"):
        for line in path.read_text().splitlines()[1:]:
            parts = line.split(";")
            if len(parts) >= 3 and parts[2].strip() == "1":
                times.append(float(parts[1]))
    return times


def writer_cpu_s() -> float:
    """CPU seconds of the records writer thread so far (Linux /proc; 0 without the thread)."""
    for thread in threading.enumerate():
        if thread.name == WRITER_THREAD and thread.native_id is not None:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return 0.0


def drive(calls: int, args: argparse.Namespace, rundir: Path) -> tuple[int, int, list[float]]:
    """SIPp's calls to 115 (blocking): successful, failed, and each call's answer time."""
    rundir.mkdir(parents=True)
    trace = ["-trace_rtt", "-rtt_freq", "1"]
    ok, failed, _ = sipp("115", calls, args.rate, args.hold, rundir, trace)
    return ok, failed, answer_times(rundir)


def count_records(url: str) -> tuple[int, int]:
    """Rows, and rows of ended calls, in the store at `url` (blocking)."""
    engine = records_db.connect(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(sa.func.count()).select_from(call_records))
            ended = connection.execute(
                sa.select(sa.func.count())
                .select_from(call_records)
                .where(call_records.c.outcome.is_not(None))
            )
            return int(rows.scalar_one()), int(ended.scalar_one())
    finally:
        engine.dispose()


def open_store(url: str, config: ServiceCenterConfig, clock: Callable[[], float]) -> RecordStore:
    """As `stadtruf.store.records.open_records`, on `url` instead of the config's database."""
    settings = config.service_center.call_records
    return RecordStore.open(
        url, caller_number=settings.caller_number, area_codes=config.area_codes.keys(), clock=clock
    )


async def one_run(
    run: Run,
    url: str | None,
    config: ServiceCenterConfig,
    args: argparse.Namespace,
    rundir: Path,
    ari: AriSettings,
) -> Run:
    clock = running_clock(OPEN_AT)
    # Opening (migration) and closing (flush) block: off the event loop, as `serve` does them
    # before and after `asyncio.run`.
    store = None if url is None else await asyncio.to_thread(open_store, url, config, clock)
    app = build_app(ari, LiveConfig(sample_config_dir(), config), clock=clock, records=store)
    task = asyncio.create_task(app.run())
    probe = asyncio.create_task(loop_lag(run.lag_ms))
    try:
        await asyncio.wait_for(app.ready.wait(), 10)
        run.lag_ms.clear()  # from here: while the calls run
        cpu, writer_cpu = time.process_time(), writer_cpu_s()
        run.successful, run.failed, run.answer_ms = await asyncio.to_thread(
            drive, run.calls, args, rundir
        )
        probe.cancel()  # the lag while calls ran; the CPU goes on until all is written
        for _ in range(int(IDLE_TIMEOUT_S / 0.1)):  # the app's last events of the last calls
            if not app.active_calls:
                break
            await asyncio.sleep(0.1)
        run.left = app.active_calls
        if store is not None:
            await asyncio.to_thread(store.flush, IDLE_TIMEOUT_S)
        run.cpu_s = time.process_time() - cpu
        run.writer_cpu_s = writer_cpu_s() - writer_cpu
    finally:
        probe.cancel()
        await app.stop()
        await task
        if store is not None:
            await asyncio.to_thread(store.close)
    if url is not None:
        run.records, run.complete = await asyncio.to_thread(count_records, url)
    return run


async def measure(args: argparse.Namespace, workdir: Path) -> list[Run]:
    center, ari, config = start_servicecenter(workdir, args.hold)
    postgres: PostgresServer | None = None
    runs: list[Run] = []
    try:
        if args.postgres:
            postgres = PostgresServer()
            await asyncio.to_thread(postgres.start)
        if args.warmup:  # Asterisk's and Python's first calls are slower: not measured
            warm = Run("warm-up", 0, args.warmup)
            await one_run(warm, None, config, args, workdir / "warm-up", ari)
        for n in range(1, args.rounds + 1):
            modes: list[tuple[str, str | None]] = [
                (OFF, None),
                ("SQLite", f"sqlite:///{workdir / f'anrufe-{n}.sqlite'}"),
            ]
            if postgres is not None:
                pg_url = await asyncio.to_thread(postgres.create_database, f"bench{n}")
                modes.append(("PostgreSQL", pg_url))
            for mode, url in modes:
                run = await one_run(
                    Run(mode, n, args.calls), url, config, args, workdir / f"{mode}-{n}", ari
                )
                runs.append(run)
                print(f"round {n} {mode}: {run.successful}/{run.calls} calls", file=sys.stderr)
    finally:
        center.stop()
        if postgres is not None:
            postgres.stop()
    return runs


# The answer time also as a mean: SIPp's clock steps in whole (here about 4) milliseconds, so
# its percentiles jump by a step, while the mean over many calls resolves less than one.
ANSWER = ("mean", 50.0, 99.0)
LAG = (50.0, 99.0)


def _stat(values: list[float], p: str | float) -> float | None:
    if p == "mean":
        return statistics.fmean(values) if values else None
    return percentile(values, float(p))


def _ms(values: list[float], stats: tuple[str | float, ...]) -> str:
    found = [_stat(values, p) for p in stats]
    return "—" if None in found else " / ".join(f"{v:.2f}" for v in found) + " ms"


def _ratio(values: list[float], base: list[float], stats: tuple[str | float, ...]) -> str:
    ratios = []
    for p in stats:
        v, b = _stat(values, p), _stat(base, p)
        ratios.append("—" if v is None or not b else f"{v / b:.2f}")
    return " / ".join(ratios)


def _per_call(cpu_s: float, writer_s: float, calls: int) -> str:
    return f"{1000 * cpu_s / calls:.2f} ms ({1000 * writer_s / calls:.2f} ms)"


def report(args: argparse.Namespace, runs: list[Run]) -> None:
    print(
        f"{args.calls} calls per run at {args.rate}/s, held {args.hold:g} s, {args.rounds} rounds"
    )
    print()
    print(
        "| round | records | ok | failed | answer mean / p50 / p99 | loop lag p50 / p99 | "
        "CPU per call (of it writer) | records written (ended) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for r in runs:
        written = "—" if r.records is None else f"{r.records} ({r.complete})"
        print(
            f"| {r.round} | {r.mode} | {r.successful} | {r.failed} | {_ms(r.answer_ms, ANSWER)} | "
            f"{_ms(r.lag_ms, LAG)} | {_per_call(r.cpu_s, r.writer_cpu_s, r.calls)} | {written} |"
        )
    print()
    print(
        "| records | calls | answer mean / p50 / p99 | ratio | loop lag p50 / p99 | ratio | "
        "CPU per call (of it writer) | ratio | records written |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    modes = list(dict.fromkeys(r.mode for r in runs))
    pooled = {m: [r for r in runs if r.mode == m] for m in modes}
    base = pooled[OFF]
    base_answer = [x for r in base for x in r.answer_ms]
    base_lag = [x for r in base for x in r.lag_ms]
    base_cpu = sum(r.cpu_s for r in base) / sum(r.calls for r in base)
    for mode, group in pooled.items():
        answer = [x for r in group for x in r.answer_ms]
        lag = [x for r in group for x in r.lag_ms]
        calls = sum(r.calls for r in group)
        cpu = sum(r.cpu_s for r in group) / calls
        writer = sum(r.writer_cpu_s for r in group)
        written = "—" if mode == OFF else str(sum(r.records or 0 for r in group))
        print(
            f"| {mode} | {calls} | {_ms(answer, ANSWER)} | {_ratio(answer, base_answer, ANSWER)} | "
            f"{_ms(lag, LAG)} | {_ratio(lag, base_lag, LAG)} | "
            f"{_per_call(cpu * calls, writer, calls)} | "
            f"{cpu / base_cpu:.2f} | {written} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per run")
    parser.add_argument("--rate", type=int, default=30, help="new calls per second")
    parser.add_argument("--hold", type=float, default=4.0, help="seconds each call stays")
    parser.add_argument("--rounds", type=int, default=2, help="off/on pairs, alternating")
    parser.add_argument("--warmup", type=int, default=20, help="calls before, not measured")
    parser.add_argument(
        "--postgres", action="store_true", help="also a throw-away PostgreSQL (Debian's)"
    )
    args = parser.parse_args()
    if not (
        1 <= args.calls <= 2000
        and 1 <= args.rate <= 200
        and 0 < args.hold <= 60
        and 1 <= args.rounds <= 10
        and 0 <= args.warmup <= 200
    ):
        parser.error(
            "bounds: 1 ≤ --calls ≤ 2000, 1 ≤ --rate ≤ 200, 0 < --hold ≤ 60, 1 ≤ --rounds ≤ 10, "
            "0 ≤ --warmup ≤ 200"
        )
    if shutil.which("sipp") is None:
        print("sipp is missing: apt-get install sip-tester", file=sys.stderr)
        return 2
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    workdir = Path(tempfile.mkdtemp(prefix="stadtruf-bench-records-"))
    try:
        runs = asyncio.run(measure(args, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    report(args, runs)
    return 0 if all(r.ok for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
