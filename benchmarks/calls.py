"""Call load: 115 through the Stasis app against the same flow in native dialplan.

    .venv/bin/python -m benchmarks.calls [--calls 200] [--rate 20] [--hold 4]

Starts the ServiceCenter's Asterisk on 127.0.0.41 (the Stasis app in this process) and drives
it with SIPp (Debian `sip-tester`) from the carrier's address 127.0.0.42, twice with the same
load: once to a native dialplan number (answer, the same greeting, wait, hang up) and once to
115 (origin resolution, annotation, Bottrop's menu). It reports successful and failed calls,
answer time (INVITE → 200 OK) and the app's CPU time and peak memory, as ratios to the
native run; this machine's noise cancels out of the ratios. Every call and the run are bounded
(`--calls`, SIPp's `-timeout`). Results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import logging
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import structlog

from ari_app.settings import AriSettings
from stadtruf.asterisk.dialplan import numbers_conf
from stadtruf.asterisk.instance import AsteriskInstance
from stadtruf.asterisk.topology import AddressPlan, rootfs_path, servicecenter_settings
from stadtruf.config import load_site
from stadtruf.config.load import ServiceCenterConfig
from stadtruf.core.prompts import media_uri
from stadtruf.paths import sample_config_dir
from stadtruf.prompt_files import install_prompts
from stadtruf.service import LiveConfig, build_app, running_clock

PLAN = AddressPlan(servicecenter="127.0.0.41", carrier="127.0.0.42", agents="127.0.0.43")
NATIVE_NUMBER = "0999100"
CALLER = "02041555999"

# The app's clock during a run: a Wednesday morning, so the sample clients are open and every
# run measures the same flow whatever the time of day (their opening hours are 7:30-18:00).
OPEN_AT = "2026-06-03T10:00"


@dataclass
class Result:
    name: str
    successful: int
    failed: int
    answer_ms: float
    seconds: float
    app_cpu_s: float


def native_dialplan(greeting_uri: str, hold: float, *, admission: bool = False) -> str:
    """The baseline: the same greeting and hold, with no app in the path.

    With `admission`, the native number passes the same concurrent-call limit as 115 first.
    """
    sound = greeting_uri.removeprefix("sound:")
    first = (
        "Gosub(stadtruf-capacity,s,1(${EXTEN}))\n same => n,Answer()" if admission else "Answer()"
    )
    return (
        "[stadtruf-numbers]\n"
        "exten => 115,1,Goto(stadtruf-entry,${EXTEN},1)\n"
        f"exten => {NATIVE_NUMBER},1,{first}\n"
        f" same => n,Playback({sound})\n"
        f" same => n,Wait({hold})\n"
        " same => n,Hangup()\n"
    )


def sipp_command(
    plan: AddressPlan,
    number: str,
    calls: int,
    rate: int,
    hold: float,
    stats: Path,
    scenario: Path | None = None,
) -> list[str]:
    """SIPp from the carrier's address: `calls` calls at `rate`/s, held `hold` seconds, at most
    `calls` at once; the whole run is bounded by `-timeout`. The built-in UAC unless `scenario`.
    """
    return [
        "sipp",
        *(["-sf", str(scenario)] if scenario else ["-sn", "uac"]),
        f"{plan.servicecenter}:5060",
        "-i",
        plan.carrier,
        "-p",
        "5090",
        "-s",
        number,
        "-m",
        str(calls),
        "-r",
        str(rate),
        "-l",
        str(calls),
        "-d",
        str(int(hold * 1000)),
        "-timeout",
        str(int(calls / rate + hold + 60)),
        "-nostdin",
        "-nd",
        "-trace_stat",
        "-stf",
        str(stats),
        "-fd",
        "1",
    ]


def sipp(
    number: str, calls: int, rate: int, hold: float, workdir: Path, extra: Sequence[str] = ()
) -> tuple[int, int, float]:
    """Successful and failed calls and the mean answer time; `extra`: more SIPp options."""
    stats = workdir / f"{number}.csv"
    cmd = [*sipp_command(PLAN, number, calls, rate, hold, stats), *extra]
    subprocess.run(cmd, cwd=workdir, capture_output=True, timeout=calls / rate + hold + 120)
    with stats.open() as f:
        rows = list(csv.DictReader(f, delimiter=";"))
    last = rows[-1]
    answer = last.get("ResponseTime1(C)", "00:00:00:000000")
    h, m, s, us = (int(x) for x in answer.split(":"))
    answer_ms = ((h * 60 + m) * 60 + s) * 1000 + us / 1000
    return int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"]), answer_ms


def start_servicecenter(
    workdir: Path, hold: float
) -> tuple[AsteriskInstance, AriSettings, ServiceCenterConfig]:
    """The ServiceCenter's Asterisk on `PLAN` with the sample config (and the native number),
    started; the caller stops it. Returns it, the app's ARI settings and the config."""
    config = load_site(sample_config_dir()).config
    greeting = config.clients["bottrop"].greeting
    assert greeting is not None
    password = secrets.token_urlsafe(18)
    settings = servicecenter_settings(
        PLAN, password, numbers_conf(config, None), capacity=config.service_center.capacity
    )
    files = dict(settings.files)
    files["stadtruf-numbers.conf"] = native_dialplan(media_uri(greeting, "de"), hold)
    center = AsteriskInstance(replace(settings, files=files), workdir / "servicecenter")
    install_prompts(config, center.directory, rootfs_path())
    center.start()
    return center, AriSettings(center.settings.ari_url, "stadtruf", password), config


async def measure(args: argparse.Namespace) -> list[Result]:
    workdir = Path(tempfile.mkdtemp(prefix="stadtruf-bench-"))
    center, ari, config = start_servicecenter(workdir, args.hold)
    results = []
    try:
        app = build_app(ari, LiveConfig(sample_config_dir(), config), clock=running_clock(OPEN_AT))
        task = asyncio.create_task(app.run())
        await asyncio.wait_for(app.ready.wait(), 10)
        for name, number in (("native dialplan", NATIVE_NUMBER), ("stadtruf (115)", "115")):
            cpu0 = time.process_time()
            t0 = time.monotonic()
            ok, failed, answer_ms = await asyncio.to_thread(
                sipp, number, args.calls, args.rate, args.hold, workdir
            )
            results.append(
                Result(
                    name, ok, failed, answer_ms, time.monotonic() - t0, time.process_time() - cpu0
                )
            )
        await app.stop()
        await task
    finally:
        center.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rate", type=int, default=20, help="new calls per second")
    parser.add_argument("--hold", type=float, default=4.0, help="seconds each call stays")
    args = parser.parse_args()
    if shutil.which("sipp") is None:
        print("sipp is missing: apt-get install sip-tester", file=sys.stderr)
        return 2
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    results = asyncio.run(measure(args))
    base = results[0]
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"{args.calls} calls at {args.rate}/s, {args.hold} s each; peak RSS of this process "
        f"(app + harness) {peak_mb:.0f} MB"
    )
    print("| flow | ok | failed | answer time | ratio | app CPU s |")
    print("|---|---|---|---|---|---|")
    for r in results:
        # SIPp measures in whole milliseconds: a native answer below 1 ms has no ratio.
        ratio = f"{r.answer_ms / base.answer_ms:.2f}" if base.answer_ms else "n/a (base < 1 ms)"
        print(
            f"| {r.name} | {r.successful} | {r.failed} | {r.answer_ms:.0f} ms | {ratio} | "
            f"{r.app_cpu_s:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
