"""The README's run command: `stadtruf up` answers 115, refuses `stadtruf restart`, and stops
cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp

from stadtruf.testcall import TestCarrier
from tests.integration.conftest import OPEN_AT
from tests.support.addresses import address_in_test_net

CENTER, CARRIER, PHONES = address_in_test_net(31), address_in_test_net(32), address_in_test_net(33)
API_TOKEN = "test-supervisor-token"


def _asterisks_of(run_dir: Path) -> set[int]:
    """The Asterisk processes of the `stadtruf up` whose run directory is `run_dir`.

    Each runs with an instance directory under `run_dir` mounted as /stadtruf; other
    Asterisks on the machine (other checkouts' tests, a developer's `./dev up`) do not count.
    """
    instances = {_inode(d) for d in run_dir.iterdir() if d.is_dir()}
    out = subprocess.run(["pgrep", "-x", "asterisk"], capture_output=True, text=True)
    pids = set()
    for pid in out.stdout.split():
        try:
            if _inode(Path(f"/proc/{pid}/root/stadtruf")) in instances:
                pids.add(int(pid))
        except OSError:  # ended meanwhile, or not one of ours
            continue
    return pids


def _inode(path: Path) -> tuple[int, int]:
    info = path.stat()
    return info.st_dev, info.st_ino


async def start_up(env: dict[str, str], *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stadtruf.cli",
        "up",
        "--json-logs",
        *args,
        env=env,
        stderr=asyncio.subprocess.PIPE,
    )


async def connected(process: asyncio.subprocess.Process) -> None:
    """Wait until the app of `stadtruf up` is connected to ARI (it logs to stderr)."""
    assert process.stderr is not None
    lines: list[str] = []
    async with asyncio.timeout(60):
        while "ari.stream.connected" not in (line := (await process.stderr.readline()).decode()):
            assert line, "stadtruf up ended early:\n" + "".join(lines)
            lines.append(line)


async def test_up_answers_115_and_stops_on_sigterm(tmp_path: Path) -> None:
    env = dict(os.environ, STADTRUF_RUN_DIR=str(tmp_path), STADTRUF_API_TOKEN=API_TOKEN)
    env.pop("STADTRUF_ARI_PASSWORD", None)
    process = await start_up(
        env,
        *("--clock-start", OPEN_AT),  # the app's clock at an open time: the menu answers
        *("--address", CENTER, "--carrier-address", CARRIER, "--agents-address", PHONES),
    )
    try:
        await connected(process)
        # `stadtruf restart` is for `serve`: `up` owns its Asterisks, refuses, and goes on.
        restart = await asyncio.create_subprocess_exec(
            *(sys.executable, "-m", "stadtruf.cli", "restart"),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        async with asyncio.timeout(30):
            said, _ = await restart.communicate()
        assert restart.returncode == 1 and "stadtruf up startet nicht neu" in said.decode()
        assert process.returncode is None
        # A random password was generated for this run and left for `stadtruf call`.
        password = (tmp_path / "ari-password").read_text().strip()
        assert len(password) >= 24
        async with aiohttp.ClientSession() as session:
            # The demo's agents are logged in, and the agent state API says so.
            auth = {"Authorization": f"Bearer {API_TOKEN}"}
            async with asyncio.timeout(10):  # the logins are taken right after the connect
                while True:
                    async with session.get(f"http://{CENTER}:8480/agents", headers=auth) as r:
                        assert r.status == 200
                        agents = (await r.json())["agents"]
                    if all(a["status"] != "logged_out" for a in agents):
                        break
                    await asyncio.sleep(0.1)
            assert {a["id"] for a in agents} >= {"agent-101", "agent-104"}
            carrier = TestCarrier(session, f"http://{CARRIER}:8088/ari", "stadtruf", password)
            await carrier.start()
            call = await carrier.call("115", caller="02064123456")
            process.send_signal(signal.SIGTERM)
            # The app hands the call back to the dialplan's apology, Asterisk ends it.
            await call.wait_ended(timeout=20)
            await carrier.close()
        async with asyncio.timeout(30):
            code = await process.wait()
    finally:
        if process.returncode is None:
            # SIGTERM first: `up` stops its Asterisks itself.
            process.send_signal(signal.SIGTERM)
            try:
                async with asyncio.timeout(30):
                    await process.wait()
            except TimeoutError:
                process.kill()
                await process.wait()
    assert code == 0
    assert not _asterisks_of(tmp_path), "an Asterisk of `stadtruf up` is still running"
    mounts = Path("/proc/self/mounts").read_text()
    assert str(tmp_path) not in mounts


async def test_a_killed_up_leaves_no_asterisk_behind(tmp_path: Path) -> None:
    # A crash (or kill -9) of the runner: its Asterisks must not live on, holding the ports.
    env = dict(os.environ, STADTRUF_RUN_DIR=str(tmp_path))
    env.pop("STADTRUF_ARI_PASSWORD", None)
    process = await start_up(
        env,
        "--no-test-phones",
        "--address",
        address_in_test_net(34),
        "--carrier-address",
        address_in_test_net(35),
    )
    try:
        await connected(process)
        assert _asterisks_of(tmp_path), "no Asterisk of `stadtruf up` seen"
    finally:
        process.kill()
        await process.wait()
    async with asyncio.timeout(20):
        while _asterisks_of(tmp_path):
            await asyncio.sleep(0.2)
    assert str(tmp_path) not in Path("/proc/self/mounts").read_text()
