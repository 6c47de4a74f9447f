"""The Stasis app of benchmarks.flow in its own process, built as `stadtruf serve` builds it.

    python -m benchmarks.flow_app ARI_URL PASSWORD AGENTS_JSON [PROFILE_OUT]

Its own process so that its CPU time and memory (from /proc) are the app's alone, not the
harness's (the observer, SIPp's bookkeeping). All agents start logged in; the clock stands at
an open hour. SIGTERM stops it as `serve` stops; it runs on serve's event loop (uvloop), and
with PROFILE_OUT under cProfile.
"""

from __future__ import annotations

import asyncio
import cProfile
import logging
import signal
import sys
from pathlib import Path

import structlog

from ari_app.settings import AriSettings
from benchmarks.calls import OPEN_AT
from stadtruf import event_loop
from stadtruf.asterisk.topology import ARI_USER
from stadtruf.config import load
from stadtruf.config.agents import AgentsConfig
from stadtruf.paths import sample_config_dir
from stadtruf.service import LiveConfig, build_app, running_clock


async def serve(url: str, password: str, agents: AgentsConfig) -> None:
    config = load(sample_config_dir())
    app = build_app(
        AriSettings(url, ARI_USER, password),
        LiveConfig(sample_config_dir(), config),
        agents=agents,
        logged_in=[a.id for a in agents.agents],
        clock=running_clock(OPEN_AT),
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    task = asyncio.create_task(app.run())
    await asyncio.wait_for(app.ready.wait(), 30)
    print("ready", flush=True)
    await stop.wait()
    await app.stop()
    await task


def main() -> int:
    url, password, agents_json = sys.argv[1:4]
    profile_out = sys.argv[4] if len(sys.argv) > 4 else None
    agents = AgentsConfig.model_validate_json(Path(agents_json).read_text())
    # Under load the app's info lines would cost more than the calls; warnings still show.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    if profile_out is None:
        event_loop.run(serve(url, password, agents))
        return 0
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        event_loop.run(serve(url, password, agents))
    finally:
        profiler.disable()
        profiler.dump_stats(profile_out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
