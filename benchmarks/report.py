"""The yearly report over a year of Duisburg-sized call records (1 million calls).

    .venv/bin/python -m benchmarks.report [--calls 1000000] [--year 2026] [--runs 3]

Generates the calls (tests/support/call_records.py, fixed seed) into a fresh SQLite file and a
throw-away PostgreSQL server (Debian's, loopback, as the tests start it), then times
`stadtruf report --year …` end to end (query, figures, HTML) and the CSV, `--runs` times each,
and prints the best and the median. Generation is bulk (executemany batches, COPY) and bounded
by `--calls`. Results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import tempfile
import time
from pathlib import Path

from stadtruf.cli import main
from stadtruf.paths import sample_config_dir
from stadtruf.store import records_db
from tests.support.call_records import generate, insert
from tests.support.postgres import PostgresServer


def fill(url: str, calls: int, year: str) -> float:
    engine = records_db.connect(url)
    try:
        started = time.perf_counter()
        insert(engine, generate(calls, f"{year}-01", f"{year}-12", seed=1))
        return time.perf_counter() - started
    finally:
        engine.dispose()


def time_report(
    db: str, year: str, fmt: str, out: Path, runs: int
) -> tuple[list[float], list[float]]:
    """Wall-clock and this process's CPU seconds of each run (SQLite works in this process;
    the CPU time is what the report costs on an idle machine, whatever else runs here)."""
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        with contextlib.redirect_stderr(io.StringIO()):
            status = main(
                ["report", "--year", year, "--format", fmt, "--out", str(out), "--db", db,
                 "--config", str(sample_config_dir())]
            )  # fmt: skip
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        if status != 0:
            raise SystemExit(f"report failed ({status})")
    return times, cpu


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--year", default="2026")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="stadtruf-bench-") as tmp:
        work = Path(tmp)
        path = work / "anrufe.sqlite"
        server = PostgresServer()
        try:
            server.start()
            targets = {
                "SQLite": (f"sqlite:///{path}", str(path)),
                "PostgreSQL": (server.create_database("bench"), server.dsn("bench")),
            }
            print(f"{args.calls:,} calls in {args.year}")
            for name, (url, db) in targets.items():
                filled = fill(url, args.calls, args.year)
                print(f"{name}: generated and inserted in {filled:.1f} s")
                for fmt in ("html", "csv"):
                    times, cpu = time_report(db, args.year, fmt, work / f"bericht.{fmt}", args.runs)
                    print(
                        f"{name}: yearly report ({fmt}) best {min(times):.2f} s, "
                        f"median {statistics.median(times):.2f} s over {len(times)} runs; "
                        f"CPU of this process best {min(cpu):.2f} s; "
                        f"load average {os.getloadavg()[0]:.1f}"
                    )
        finally:
            server.stop()


if __name__ == "__main__":
    main_bench()
