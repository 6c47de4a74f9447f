"""Capacity: many concurrent calls into 115, each answered or refused at once (issue 9, #4).

    .venv/bin/python -m benchmarks.capacity [--calls 1000] [--rate 50] [--hold 30]
                                            [--max-calls N]

Needs SIPp (Debian package `sip-tester`: `apt-get install sip-tester`). Starts the
ServiceCenter's Asterisk on 127.0.0.51 (or STADTRUF_TEST_NET.51) with the sample config's
`capacity:` (`--max-calls` overrides the limit for this run, through the same rendering) and the
Stasis app in this process, then places the same load twice from the carrier's address .52 with
SIPp (benchmarks/capacity_uac.xml): first to a native dialplan number (the same admission, then
answer, greeting, wait), then to 115 (the app). Every call ends answered, refused with a SIP
error, or still ringing after 10 s (then cancelled: the defect). It reports the counts, the time
from INVITE to the SIP error (p50/p99), and the peak CPU of Asterisk and of the app, with ratios
against the native run. Loopback only; every call is bounded (10 s to a final answer, `--hold`
after it) and so is the run (SIPp's `-timeout`, the subprocess timeout). Exit status 0 when every
call was answered or refused within 1 s and none was left ringing.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import aiohttp
import structlog

from ari_app.rest import AriRest
from ari_app.settings import AriSettings
from benchmarks.calls import NATIVE_NUMBER, OPEN_AT, native_dialplan, sipp_command
from stadtruf.asterisk.dialplan import numbers_conf
from stadtruf.asterisk.instance import AsteriskInstance
from stadtruf.asterisk.topology import (
    ARI_USER,
    AddressPlan,
    rootfs_path,
    servicecenter_settings,
)
from stadtruf.config import load
from stadtruf.config.capacity import Capacity
from stadtruf.core.prompts import media_uri
from stadtruf.paths import sample_config_dir
from stadtruf.prompt_files import install_prompts
from stadtruf.service import LiveConfig, build_app, running_clock

# Its own addresses, clear of `./dev up` (127.0.0.1-3), the tests (.21-.35) and benchmarks.calls.
PLAN = AddressPlan(servicecenter="127.0.0.51", carrier="127.0.0.52", agents="127.0.0.53")
SCENARIO = Path(__file__).with_name("capacity_uac.xml")
REFUSAL_BOUND_MS = 1000.0
CPU_INTERVAL_S = 1.0


@dataclass
class Outcome:
    """One SIPp run, from its per-call log."""

    name: str
    offered: int
    answered: int = 0
    refused: int = 0
    ringing: int = 0
    dropped: int = 0  # answered, then hung up by the ServiceCenter before the hold ended
    codes: Counter[str] = field(default_factory=Counter)
    error_ms: list[float] = field(default_factory=list)
    answer_ms: list[float] = field(default_factory=list)
    peak_asterisk_cpu: float = 0.0
    peak_app_cpu: float = 0.0
    seconds: float = 0.0

    @property
    def unaccounted(self) -> int:
        return self.offered - self.answered - self.refused - self.ringing

    @property
    def refused_late(self) -> int:
        return sum(1 for ms in self.error_ms if ms > REFUSAL_BOUND_MS)

    @property
    def ok(self) -> bool:
        return not (self.ringing or self.unaccounted or self.refused_late)


def parse_log(name: str, offered: int, lines: Iterator[str]) -> Outcome:
    """`invite;<call-id>;<ms>` then `answered|refused|ringing;<call-id>;<ms>[;<code>]`."""
    outcome = Outcome(name, offered)
    sent: dict[str, float] = {}
    for line in lines:
        parts = line.strip().split(";")
        if len(parts) < 3:
            continue
        kind, call_id, tick = parts[0], parts[1], float(parts[2])
        if kind == "invite":
            sent[call_id] = tick
            continue
        elapsed = tick - sent.get(call_id, tick)
        if kind == "answered":
            outcome.answered += 1
            outcome.answer_ms.append(elapsed)
        elif kind == "refused":
            outcome.refused += 1
            outcome.error_ms.append(elapsed)
            outcome.codes[parts[3] if len(parts) > 3 else "?"] += 1
        elif kind == "ringing":
            outcome.ringing += 1
        elif kind == "dropped":
            outcome.dropped += 1
    return outcome


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


class CpuPeaks:
    """Peak CPU (% of one core, per second) of Asterisk and of this process (the app)."""

    def __init__(self, asterisk_pid: int) -> None:
        self._pid = asterisk_pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.asterisk = 0.0
        self.app = 0.0

    def _asterisk_seconds(self) -> float:
        try:
            fields = Path(f"/proc/{self._pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def _run(self) -> None:
        wall, ast, app = time.monotonic(), self._asterisk_seconds(), time.process_time()
        while not self._stop.wait(CPU_INTERVAL_S):
            now, ast2, app2 = time.monotonic(), self._asterisk_seconds(), time.process_time()
            span = now - wall
            self.asterisk = max(self.asterisk, 100 * (ast2 - ast) / span)
            self.app = max(self.app, 100 * (app2 - app) / span)
            wall, ast, app = now, ast2, app2

    def __enter__(self) -> CpuPeaks:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def run_sipp(name: str, number: str, args: argparse.Namespace, workdir: Path) -> Outcome:
    scenario = workdir / "capacity_uac.xml"
    scenario.write_text(SCENARIO.read_text().replace("[duration]", str(int(args.hold * 1000))))
    log = workdir / f"{number}.log"
    cmd = sipp_command(
        PLAN, number, args.calls, args.rate, args.hold, workdir / f"{number}.csv", scenario
    )
    cmd += ["-trace_logs", "-log_file", str(log)]
    started = time.monotonic()
    try:
        subprocess.run(
            cmd,
            cwd=workdir,
            capture_output=True,
            timeout=args.calls / args.rate + args.hold + 60,
            check=False,
        )
    except subprocess.TimeoutExpired:
        # SIPp is killed; calls it never finished count as not ended (unaccounted).
        print(f"{name}: SIPp did not finish in time, killed", file=sys.stderr)
    with log.open() as lines:
        outcome = parse_log(name, args.calls, lines)
    outcome.seconds = time.monotonic() - started
    return outcome


async def wait_idle(rest: AriRest, timeout: float = 60.0) -> int:  # noqa: ASYNC109
    """Channels left after `timeout`: the next run must start from an empty ServiceCenter."""
    deadline = time.monotonic() + timeout
    while True:
        channels = await rest.list_channels()
        if not channels or time.monotonic() > deadline:
            return len(channels)
        await asyncio.sleep(0.5)


async def measure(args: argparse.Namespace, capacity: Capacity) -> tuple[list[Outcome], int, int]:
    config = load(sample_config_dir())
    greeting = config.clients["bottrop"].greeting
    assert greeting is not None
    password = secrets.token_urlsafe(18)
    workdir = Path(tempfile.mkdtemp(prefix="stadtruf-capacity-"))
    settings = servicecenter_settings(PLAN, password, numbers_conf(config, None), capacity=capacity)
    files = dict(settings.files)
    # The native flow outlasts SIPp's hold, so the carrier side always hangs up first.
    files["stadtruf-numbers.conf"] = native_dialplan(
        media_uri(greeting, "de"), args.hold + 30, admission=True
    )
    center = AsteriskInstance(replace(settings, files=files), workdir / "servicecenter")
    install_prompts(config, center.directory, rootfs_path())
    center.start()
    outcomes: list[Outcome] = []
    try:
        asterisk_pid = int((center.directory / "run" / "asterisk.pid").read_text().split()[0])
        app = build_app(
            AriSettings(center.settings.ari_url, ARI_USER, password),
            LiveConfig(sample_config_dir(), config),
            clock=running_clock(OPEN_AT),
        )
        task = asyncio.create_task(app.run())
        await asyncio.wait_for(app.ready.wait(), 10)
        async with aiohttp.ClientSession() as session:
            rest = AriRest(session, center.settings.ari_url, ARI_USER, password)
            for name, number in (("native dialplan", NATIVE_NUMBER), ("stadtruf (115)", "115")):
                with CpuPeaks(asterisk_pid) as cpu:
                    outcome = await asyncio.to_thread(run_sipp, name, number, args, workdir)
                outcome.peak_asterisk_cpu, outcome.peak_app_cpu = cpu.asterisk, cpu.app
                outcomes.append(outcome)
                left = await wait_idle(rest)
                if left:
                    break
        await app.stop()
        await task
        logged = sum(
            1
            for line in center.log_file.read_text(errors="replace").splitlines()
            if "WARNING" in line and "capacity_limit_reached" in line and "Executing" not in line
        )
    finally:
        center.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return outcomes, left, logged


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} ms"


def _ratio(value: float | None, base: float | None) -> str:
    if value is None or not base:
        return "—"
    return f"{value / base:.2f}"


def report(args: argparse.Namespace, capacity: Capacity, outcomes: list[Outcome]) -> None:
    print(
        f"{args.calls} calls at {args.rate}/s, held {args.hold:g} s; RTP "
        f"{capacity.rtp_port_start}–{capacity.rtp_port_end}, limit {capacity.call_limit} calls"
    )
    print(
        "| flow | answered (dropped early) | refused (SIP code) | no answer in 10 s | not ended | "
        "refused > 1 s | "
        "to SIP error p50 / p99 | ratio | peak CPU Asterisk | ratio | peak CPU app |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    base = outcomes[0]
    for o in outcomes:
        codes = ", ".join(f"{n}× {c}" for c, n in sorted(o.codes.items())) or "—"
        p50, p99 = percentile(o.error_ms, 50), percentile(o.error_ms, 99)
        b50, b99 = percentile(base.error_ms, 50), percentile(base.error_ms, 99)
        ratio = f"{_ratio(p50, b50)} / {_ratio(p99, b99)}"
        print(
            f"| {o.name} | {o.answered} ({o.dropped}) | {o.refused} ({codes}) | {o.ringing} | "
            f"{o.unaccounted} | "
            f"{o.refused_late} | "
            f"{_ms(p50)} / {_ms(p99)} | {ratio} | {o.peak_asterisk_cpu:.0f} % | "
            f"{_ratio(o.peak_asterisk_cpu, base.peak_asterisk_cpu)} | {o.peak_app_cpu:.0f} % |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=50, help="new calls per second")
    parser.add_argument("--hold", type=float, default=30.0, help="seconds each answered call stays")
    parser.add_argument(
        "--max-calls", type=int, help="concurrent-call limit for this run (default: the config's)"
    )
    args = parser.parse_args()
    if not (1 <= args.calls <= 5000 and 1 <= args.rate <= 500 and 0 < args.hold <= 120):
        parser.error("bounds: 1 ≤ --calls ≤ 5000, 1 ≤ --rate ≤ 500, 0 < --hold ≤ 120")
    if shutil.which("sipp") is None:
        print("sipp is missing: apt-get install sip-tester", file=sys.stderr)
        return 2
    configured = load(sample_config_dir()).service_center.capacity
    capacity = Capacity.model_validate(
        {**configured.model_dump(), "max_calls": args.max_calls or configured.max_calls}
    )
    if capacity.call_limit > capacity.carried:
        parser.error(f"--max-calls {args.max_calls}: the RTP range carries {capacity.carried}")
    # The app's log goes to a file: under overload it is long; its error lines are counted.
    app_log = Path(tempfile.gettempdir()) / "stadtruf-capacity-app.log"
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file=app_log.open("w")),
    )
    outcomes, left, logged = asyncio.run(measure(args, capacity))
    report(args, capacity, outcomes)
    errors = sum(1 for line in app_log.read_text().splitlines() if "[error" in line)
    print(
        f"capacity_limit_reached lines in Asterisk's log: {logged}; channels left: {left}; "
        f"errors in the app's log ({app_log}): {errors}"
    )
    return 0 if all(o.ok for o in outcomes) and len(outcomes) == 2 and not left else 1


if __name__ == "__main__":
    sys.exit(main())
