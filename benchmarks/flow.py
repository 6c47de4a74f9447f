"""The whole flow under load, the app against native dialplan (issue 12, parts 3 and 4).

    .venv/bin/python -m benchmarks.flow [--calls 60] [--rate 4] [--talk 14] [--agents N]
                                        [--answer-after 1] [--profile FILE]
                                        [--app-src DIR] [--app-nice N] [--keep]

Needs SIPp (`apt-get install sip-tester`). Starts the ServiceCenter's Asterisk (127.0.7.1,
sample config) and the agents' phones (127.0.7.3: N generated agents registered, each phone
answers after `--answer-after` s and echoes). SIPp on the carrier's address 127.0.7.2
(benchmarks/flow_uac.xml) drives the same load twice: first into the native flow
(`benchmarks.flow_setup`: Background/WaitExten menus, app_queue), then into 115 with the
Stasis app in its own process (`benchmarks.flow_app`). A call: answer, greeting, main menu,
"2" (RFC 4733), submenu, "1", queue, agent rings, answers, hears the whisper, talks `--talk`
s with RTP both ways (the caller's audio, the phone's echo), caller hangs up.

Reported per flow, with ratios to native: calls ok / failed (SIPp) and bridged to an agent;
peak callers on the ServiceCenter (in menus or queue, bridged); answered calls per second;
CPU seconds per call of the ServiceCenter's Asterisk, of the app, and of the load side
(SIPp, agents' phones); app memory per call; DTMF → next prompt and agent answer → caller
connected, p50 / p99 (benchmarks.flow_observe says how both are timed). Every loop is bounded
(`--calls`, SIPp's `-timeout`, waits with deadlines); every process started is stopped.
Exit status 0 when every flow had no failed call and every call reached an agent.
`--app-src DIR` adds a third run with the app of another checkout (before/after in one run).
STADTRUF_FLOW_DUMP=file writes every event the observer saw, to see why a call was not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import logging
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import structlog

from ari_app.rest import AriRest
from benchmarks.flow_observe import FlowObserver, Phase
from benchmarks.flow_report import report
from benchmarks.flow_setup import NATIVE_NUMBER, PLAN, Prompts, Site, build_site
from stadtruf.asterisk.topology import ARI_USER, rootfs_path
from stadtruf.config import load
from stadtruf.paths import sample_config_dir
from stadtruf.service import install_prompts

SCENARIO = Path(__file__).with_name("flow_uac.xml")
PCAPS = Path("/usr/share/sip-tester")
FIRST_DIGIT_MS, SECOND_DIGIT_MS = 5000, 3000
TALK_PIECE_S = 7.1  # g711a.pcap lasts 7.05 s
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int | None) -> float:
    """User + system time of a process and all its threads so far (0 once it is gone)."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mb(pid: int | None) -> float:
    if pid is None:
        return 0.0
    with contextlib.suppress(OSError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def asterisk_pid(site_dir: Path) -> int:
    return int((site_dir / "run" / "asterisk.pid").read_text().split()[0])


@dataclass
class Result:
    name: str
    offered: int
    ok: int = 0
    failed: int = 0
    seen: Phase = field(default_factory=Phase)
    cpu: dict[str, float] = field(default_factory=dict)  # seconds over the run, per process
    app_rss_base: float = 0.0
    app_rss_peak: float = 0.0
    seconds: float = 0.0
    left: int = 0  # channels still up after the run

    def per_call_ms(self, who: str) -> float:
        return 1000 * self.cpu.get(who, 0.0) / max(1, self.offered)

    @property
    def clean(self) -> bool:
        return not self.failed and self.ok == self.offered and self.seen.connected == self.offered


class Sampler:
    """Peak RSS of the app, sampled each 0.5 s on a thread (the loop is busy with events)."""

    def __init__(self, pid: int | None) -> None:
        self._pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            self.peak = max(self.peak, rss_mb(self._pid))

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def shifted_pcap(source: Path, target: Path, seq_add: int, ts_add: int) -> Path:
    """SIPp's DTMF pcaps, rewritten to follow one another: as shipped, the "1" has a lower RTP
    sequence number and timestamp than the "2" (same SSRC), and Asterisk drops it as old."""
    data = bytearray(source.read_bytes())
    offset = 24  # pcap file header; then per packet a 16-byte header, Ethernet, IPv4, UDP, RTP
    while offset < len(data):
        length = struct.unpack_from("<I", data, offset + 8)[0]
        rtp = offset + 16 + 14 + 20 + 8
        seq, ts = struct.unpack_from("!HI", data, rtp + 2)
        struct.pack_into("!HI", data, rtp + 2, (seq + seq_add) % 65536, ts + ts_add)
        struct.pack_into("!H", data, rtp - 2, 0)  # UDP checksum: none (IPv4 allows it)
        offset += 16 + length
    target.write_bytes(bytes(data))
    return target


def scenario(workdir: Path, talk: float) -> Path:
    pieces = max(1, math.ceil(talk / TALK_PIECE_S))
    block = (
        f'  <nop><action><exec play_pcap_audio="{PCAPS}/g711a.pcap"/></action></nop>\n'
        f'  <pause milliseconds="{int(TALK_PIECE_S * 1000)}"/>\n'
    )
    text = (
        SCENARIO.read_text()
        .replace("@@TALK@@", block * pieces)
        .replace("@@DIGIT_2@@", str(PCAPS / "dtmf_2833_2.pcap"))
        .replace(
            "@@DIGIT_1@@",
            str(shifted_pcap(PCAPS / "dtmf_2833_1.pcap", workdir / "dtmf_1.pcap", 100, 20000)),
        )
        .replace("@@FIRST_DIGIT_MS@@", str(FIRST_DIGIT_MS))
        .replace("@@SECOND_DIGIT_MS@@", str(SECOND_DIGIT_MS))
    )
    path = workdir / "flow_uac.xml"
    path.write_text(text)
    return path


def call_seconds(talk: float) -> float:
    pieces = max(1, math.ceil(talk / TALK_PIECE_S))
    return (FIRST_DIGIT_MS + SECOND_DIGIT_MS + 500) / 1000 + pieces * TALK_PIECE_S


def sipp_command(number: str, args: argparse.Namespace, workdir: Path, stats: Path) -> list[str]:
    bound = args.calls / args.rate + call_seconds(args.talk) + 60
    return [
        "sipp",
        "-sf",
        str(scenario(workdir, args.talk)),
        f"{PLAN.servicecenter}:5060",
        "-i",
        PLAN.carrier,
        "-p",
        "5090",
        "-mi",
        PLAN.carrier,
        "-mp",
        "40000",
        "-s",
        number,
        "-m",
        str(args.calls),
        "-r",
        str(args.rate),
        "-l",
        str(args.calls),
        "-timeout",
        str(int(bound)),
        "-nostdin",
        "-nd",
        "-trace_stat",
        "-stf",
        str(stats),
        "-fd",
        "1",
    ]


def run_sipp(
    number: str, args: argparse.Namespace, workdir: Path, cpu: dict[str, float]
) -> tuple[int, int]:
    """SIPp to the end (bounded); its successful and failed calls; its CPU into `cpu`."""
    stats = workdir / f"{number}.csv"
    bound = args.calls / args.rate + call_seconds(args.talk) + 90
    process = subprocess.Popen(
        sipp_command(number, args, workdir, stats),
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=(workdir / f"{number}.err").open("w"),
    )
    last = 0.0
    deadline = time.monotonic() + bound
    while process.poll() is None and time.monotonic() < deadline:
        last = cpu_seconds(process.pid) or last  # read before it exits: /proc goes with it
        time.sleep(0.5)
    if process.poll() is None:
        process.kill()
        print(f"{number}: SIPp did not finish in {bound:.0f} s, killed", file=sys.stderr)
    process.wait(10)
    cpu["SIPp"] = last
    with stats.open() as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    if not rows:
        return 0, args.calls
    return int(rows[-1]["SuccessfulCall(C)"]), int(rows[-1]["FailedCall(C)"])


async def wait_registered(rest: AriRest, count: int, timeout: float = 120.0) -> int:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    online = 0
    while time.monotonic() < deadline:
        endpoints = await rest.list_endpoints()
        online = sum(
            1
            for e in endpoints
            if str(e.get("resource", "")).startswith("agent-") and e.get("state") == "online"
        )
        if online >= count:
            break
        await asyncio.sleep(1)
    return online


async def wait_idle(observer: FlowObserver, timeout: float = 60.0) -> int:  # noqa: ASYNC109
    deadline = time.monotonic() + timeout
    # A poll, bounded: the count changes with every event, no one event says "idle".
    while observer.live and time.monotonic() < deadline:  # noqa: ASYNC110
        await asyncio.sleep(0.5)
    return observer.live


def start_app(
    site: Site, workdir: Path, profile: str | None, source: Path | None = None, nice: int = 0
) -> subprocess.Popen[bytes]:
    """The app's process, once it is connected (it says "ready"; on failure it exits). With
    `source`, the app of that checkout (`-m` imports from the working directory first); `nice`
    as nice(1) takes it (nice execs the app: the pid stays the app's)."""
    agents_json = workdir / "agents.json"
    agents_json.write_text(site.agents.model_dump_json())
    cmd = [
        *(["nice", "-n", str(nice)] if nice else []),
        sys.executable,
        "-m",
        "benchmarks.flow_app",
        site.center.settings.ari_url,
        site.password,
        str(agents_json),
        *([profile] if profile else []),
    ]
    process = subprocess.Popen(
        cmd, cwd=source, stdout=subprocess.PIPE, stderr=(workdir / "app.err").open("w")
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if line.strip() != b"ready":
        process.kill()
        raise RuntimeError(f"the app did not start: {(workdir / 'app.err').read_text()[-2000:]}")
    return process


def stop_app(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


async def run_flow(
    name: str,
    number: str,
    args: argparse.Namespace,
    workdir: Path,
    observer: FlowObserver,
    pids: dict[str, int | None],
) -> Result:
    result = Result(name, args.calls)
    observer.start_phase()
    before = {who: cpu_seconds(pid) for who, pid in pids.items()}
    result.app_rss_base = rss_mb(pids.get("app"))
    started = time.monotonic()
    with Sampler(pids.get("app")) as memory:
        result.ok, result.failed = await asyncio.to_thread(
            run_sipp, number, args, workdir, result.cpu
        )
        result.left = await wait_idle(observer)
    result.seconds = time.monotonic() - started
    for who, pid in pids.items():
        result.cpu[who] = cpu_seconds(pid) - before[who]
    result.app_rss_peak = memory.peak
    result.seen = observer.phase
    return result


async def measure(args: argparse.Namespace) -> list[Result]:
    config = load(sample_config_dir())
    workdir = Path(tempfile.mkdtemp(prefix="stadtruf-flow-"))
    site = build_site(config, workdir, args.agents, args.answer_after)
    install_prompts(config, site.center.directory, rootfs_path(), site.agents)
    results: list[Result] = []
    app: subprocess.Popen[bytes] | None = None
    try:
        site.center.start()
        site.phones.start()
        pids: dict[str, int | None] = {
            "Asterisk": asterisk_pid(site.center.directory),
            "phones": asterisk_pid(site.phones.directory),
        }
        async with aiohttp.ClientSession() as session:
            url = site.center.settings.ari_url
            rest = AriRest(session, url, ARI_USER, site.password)
            online = await wait_registered(rest, args.agents)
            print(f"agents registered: {online} of {args.agents}", file=sys.stderr)
            observer = FlowObserver(session, url, site.password, Prompts.of(config).submenu)
            await observer.start()
            try:
                results.append(
                    await run_flow("native dialplan", NATIVE_NUMBER, args, workdir, observer, pids)
                )
                apps: list[tuple[str, Path | None]] = [("stadtruf (115)", None)]
                if args.app_src:
                    apps.append((f"stadtruf (115) from {args.app_src}", Path(args.app_src)))
                for name, source in apps:
                    app = await asyncio.wait_for(
                        asyncio.to_thread(
                            start_app, site, workdir, args.profile, source, args.app_nice
                        ),
                        60,
                    )
                    pids["app"] = app.pid
                    await asyncio.sleep(2)  # its agents' endpoint states arrive after connect
                    results.append(await run_flow(name, "115", args, workdir, observer, pids))
                    stop_app(app)
                    app = None
            finally:
                await observer.close()
    finally:
        if app is not None:
            stop_app(app)
        site.phones.stop()
        site.center.stop()
        if args.keep:
            print(f"kept {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return results


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=60, help="calls per flow")
    parser.add_argument("--rate", type=float, default=4, help="new calls per second")
    parser.add_argument("--talk", type=float, default=14, help="seconds of audio after the menus")
    parser.add_argument("--agents", type=int, help="agents (default: enough for every call)")
    parser.add_argument("--answer-after", type=float, default=1.0, help="the phones' ring time")
    parser.add_argument("--profile", help="run the app under cProfile, stats to this file")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument(
        "--app-nice",
        type=int,
        default=0,
        help="run the app's process at this nice value (e.g. -5, as a service unit's Nice=)",
    )
    parser.add_argument(
        "--app-src",
        help="a third run: the app of this checkout (e.g. `git archive main` unpacked, with "
        "this benchmarks/flow_app.py), to compare before and after a change in one run",
    )
    args = parser.parse_args()
    if args.agents is None:
        # Every call in talk at once, plus a margin for rings in flight.
        args.agents = min(args.calls, math.ceil(args.rate * call_seconds(args.talk)) + 20)
    if not (1 <= args.calls <= 6000 and 0 < args.rate <= 200 and 0 < args.talk <= 120):
        parser.error("bounds: 1 ≤ --calls ≤ 6000, 0 < --rate ≤ 200, 0 < --talk ≤ 120")
    if not 1 <= args.agents <= 2000:
        parser.error("bounds: 1 ≤ --agents ≤ 2000")
    if shutil.which("sipp") is None or not (PCAPS / "g711a.pcap").exists():
        print("sipp is missing: apt-get install sip-tester", file=sys.stderr)
        return 2
    # The harness's own lines (ARI requests, the observer's stream) are noise here.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    before = loadavg()
    results = asyncio.run(measure(args))
    heading = (
        f"{args.calls} calls per flow at {args.rate:g}/s, each {call_seconds(args.talk):.1f} s "
        f"(menus {(FIRST_DIGIT_MS + SECOND_DIGIT_MS) / 1000:g} s, then queue and talk), "
        f"{args.agents} agents answering after {args.answer_after:g} s; "
        f"load average before {before}, after {loadavg()}"
    )
    report(heading, results)
    return 0 if len(results) >= 2 and all(r.clean for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
