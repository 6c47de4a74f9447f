"""`stadtruf restart` and the restart in place: the command, SIGUSR2's wiring, the hand-over
(calls left in Asterisk, untouched), and the re-exec (its command line, descriptors, failure).
The real re-exec under 30 calls: tests/integration/test_chaos.py."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from ari_app.application import APOLOGY_CONTEXT, CallContext, StasisApplication
from ari_app.errors import AriError
from ari_app.settings import AriSettings
from ari_app.sinks import SinkGate
from stadtruf.commands.restart import restart_command
from stadtruf.restart import (
    HELD_SIGNALS,
    REFUSED_NOTE,
    RESTART_SIGNAL,
    Restart,
    exec_argv,
    exec_problem,
    keep_fds_private,
    signals_held,
    with_option,
)
from stadtruf.service import pid_file, run_until_signalled
from tests.support.fake_stream import FakeConnection, stasis_start

SETTINGS = AriSettings(url="http://127.0.0.1:1/ari", user="stadtruf", password="x")
PYTHON = sys.executable


# --- the command -----------------------------------------------------------------------------


@pytest.fixture
def run_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("STADTRUF_RUN_DIR", str(tmp_path))
    return tmp_path


def restart_args(wait: float = 5.0) -> argparse.Namespace:
    return argparse.Namespace(wait=wait)


def test_restart_without_a_running_service_says_so_in_german_and_fails(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert restart_command(restart_args()) == 1
    err = capsys.readouterr().err
    assert "Kein laufender Dienst gefunden" in err and str(run_dir / "stadtruf.pid") in err
    assert "STADTRUF_RUN_DIR" in err


def test_restart_with_a_stale_pid_file_fails_too(
    run_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pid_file().write_text("999999999\n")  # no such process
    assert restart_command(restart_args()) == 1
    assert "Kein laufender Dienst" in capsys.readouterr().err


Service = Callable[[], None]


def service(monkeypatch: pytest.MonkeyPatch, on_signal: Service) -> list[tuple[int, int]]:
    """This process stands in for `serve`: SIGUSR2 is recorded, `on_signal` plays its part."""
    pid_file().write_text(f"{os.getpid()}\n")
    sent: list[tuple[int, int]] = []
    real_kill = os.kill

    def kill(pid: int, signum: int) -> None:
        if signum == 0:
            real_kill(pid, 0)  # `read_pid`'s check that the process lives
        else:
            sent.append((pid, signum))
            on_signal()

    monkeypatch.setattr(os, "kill", kill)
    return sent


def test_restart_sends_sigusr2_and_waits_for_the_new_program(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def new_program_writes_the_pid_file() -> None:
        stat = pid_file().stat()
        os.utime(pid_file(), ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))

    sent = service(monkeypatch, new_program_writes_the_pid_file)
    assert restart_command(restart_args()) == 0
    assert sent == [(os.getpid(), signal.SIGUSR2)]
    assert "Neu gestartet" in capsys.readouterr().out


def test_a_refused_restart_is_reported_with_its_reason(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (run_dir / REFUSED_NOTE).write_text("from an earlier restart\n")  # not this one's

    def refuses() -> None:
        (run_dir / REFUSED_NOTE).write_text("Prüfung fehlgeschlagen: bottrop.yaml:3:1: kaputt\n")

    service(monkeypatch, refuses)
    assert restart_command(restart_args()) == 1
    err = capsys.readouterr().err
    assert "Neustart abgelehnt: Prüfung fehlgeschlagen: bottrop.yaml:3:1: kaputt" in err
    assert "läuft unverändert weiter" in err


def test_a_service_that_ended_is_reported(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service(monkeypatch, lambda: pid_file().unlink())  # a failed exec ends as a stop
    assert restart_command(restart_args()) == 1
    assert "läuft nicht mehr" in capsys.readouterr().err


def test_restart_without_waiting_only_signals(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sent = service(monkeypatch, lambda: None)
    assert restart_command(restart_args(wait=0)) == 0
    assert sent == [(os.getpid(), signal.SIGUSR2)]
    assert "Neustart angestoßen" in capsys.readouterr().out


def test_a_restart_not_confirmed_in_time_fails(
    run_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service(monkeypatch, lambda: None)
    assert restart_command(restart_args(wait=0.3)) == 1
    assert "Kein Neustart innerhalb" in capsys.readouterr().err


def test_restart_is_a_subcommand() -> None:
    from stadtruf.cli import build_parser

    args = build_parser().parse_args(["restart"])
    assert args.func is restart_command


# --- the command line of the next program ----------------------------------------------------


def test_the_console_script_runs_again_as_itself() -> None:
    orig = ["/venv/bin/python", "/venv/bin/stadtruf", "serve", "--config", "cfg"]
    assert exec_argv("/venv/bin/python", orig) == orig


def test_python_dash_m_keeps_the_module_and_the_interpreters_options() -> None:
    orig = ["python3", "-X", "dev", "-m", "stadtruf.cli", "serve", "--json-logs"]
    assert exec_argv("/usr/bin/python3", orig) == ["/usr/bin/python3", *orig[1:]]


def test_an_option_is_replaced_in_either_form_or_added() -> None:
    argv = ["py", "-m", "stadtruf", "serve", "--clock-start", "2026-06-04T10:00"]
    assert with_option(argv, "--clock-start", "X")[-2:] == ["--clock-start", "X"]
    assert with_option(["py", "s", "--clock-start=A"], "--clock-start", "B") == [
        "py",
        "s",
        "--clock-start=B",
    ]
    assert with_option(["py", "s"], "--clock-start", "B") == ["py", "s", "--clock-start", "B"]


def test_what_cannot_be_executed_is_found_before_any_call_is_let_go(tmp_path: Path) -> None:
    script = tmp_path / "stadtruf"
    script.write_text("#!/usr/bin/env python3\n")
    assert exec_problem([PYTHON, "-m", "stadtruf.cli", "serve"]) is None
    assert exec_problem([PYTHON, "-X", "dev", str(script), "serve"]) is None
    assert exec_problem([PYTHON, "-X", "dev", "-m", "stadtruf.cli"]) is None
    missing = exec_problem([PYTHON, str(tmp_path / "gone"), "serve"])
    assert missing is not None and "Programm nicht gefunden" in missing
    gone = exec_problem([str(tmp_path / "python"), "-m", "stadtruf.cli"])
    assert gone is not None and "nicht ausführbar" in gone


def test_descriptors_are_made_private_before_the_exec() -> None:
    read, write = os.pipe()
    try:
        os.set_inheritable(write, True)
        assert keep_fds_private() >= 1
        assert not os.get_inheritable(write) and not os.get_inheritable(read)
    finally:
        os.close(read)
        os.close(write)


# --- the exec ----------------------------------------------------------------------------------


class Executed(BaseException):
    """Stands in for a successful execv, which never returns."""


def held_now() -> set[int]:
    return {int(s) for s in signal.pthread_sigmask(signal.SIG_BLOCK, [])}


@contextlib.contextmanager
def mask_kept() -> Iterator[None]:
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


@contextlib.contextmanager
def dispositions_kept() -> Iterator[None]:
    previous = {signum: signal.getsignal(signum) for signum in HELD_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def test_the_exec_runs_the_same_command_line_with_reload_and_restart_held(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def execv(path: str, argv: list[str]) -> None:
        seen.update(path=path, argv=argv, held=held_now(), pending=signal.sigpending())
        raise Executed

    monkeypatch.setattr(os, "execv", execv)
    argv = [PYTHON, "-m", "stadtruf.cli", "serve"]
    restart = Restart(argv)
    with dispositions_kept(), mask_kept():
        restart.keep_pending()  # the loop has ended: a restart asked for now is kept
        signal.pthread_kill(threading.get_ident(), RESTART_SIGNAL)
        assert restart.pending == {RESTART_SIGNAL}
        with pytest.raises(Executed):
            restart.execute()
    assert seen["path"] == PYTHON and seen["argv"] == argv
    # Held, and pending across the exec: the next program gets what was asked for meanwhile.
    assert {int(s) for s in HELD_SIGNALS} <= seen["held"]
    assert RESTART_SIGNAL in seen["pending"]


def test_a_failing_exec_is_logged_and_ends_as_a_stop(monkeypatch: pytest.MonkeyPatch) -> None:
    def execv(path: str, argv: list[str]) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "execv", execv)
    with mask_kept(), structlog.testing.capture_logs() as logs:
        assert Restart([PYTHON, "-m", "stadtruf.cli", "serve"]).execute() == 1
        assert not {int(s) for s in HELD_SIGNALS} & held_now()
    failed = [e for e in logs if e["event"] == "app.restart_failed"]
    assert failed and "Permission denied" in failed[0]["error"]


# --- SIGUSR2 and the hand-over ------------------------------------------------------------------


class Calls:
    """A call runner whose cleanup does what the queue's does on cancellation: a request to
    Asterisk (leave the bridge) and an `Ended` for the record."""

    def __init__(self, gate: SinkGate) -> None:
        self.started: asyncio.Queue[CallContext] = asyncio.Queue()
        self.cancelled: list[str] = []
        self.refused: list[str] = []
        self.reported: list[str] = []
        self.report = gate.guard(self.reported.append)

    async def __call__(self, context: CallContext) -> None:
        self.started.put_nowait(context)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled.append(context.channel_id)
            try:
                await context.rest.remove_channel("stadtruf-queue-kfz", context.channel_id)
            except AriError:
                self.refused.append(context.channel_id)
            self.report(f"ended {context.channel_id}")
            raise


async def served(
    restart: Restart | None,
) -> tuple[StasisApplication, FakeConnection, Calls, asyncio.Task[None]]:
    gate = SinkGate()
    connection = FakeConnection()
    calls = Calls(gate)
    app = StasisApplication(SETTINGS, calls, connect=connection)
    app.on_hand_over.append(gate.close)
    task = asyncio.create_task(run_until_signalled(app, restart=restart))
    async with asyncio.timeout(2):
        await app.ready.wait()
    connection.stream.push(stasis_start("c1"))
    connection.stream.push(stasis_start("c2"))
    await connection.stream.delivered()
    for _ in range(2):
        async with asyncio.timeout(2):
            await calls.started.get()
    return app, connection, calls, task


async def test_sigusr2_hands_the_calls_over_untouched_and_the_service_stops_for_the_exec() -> None:
    restart = Restart([PYTHON, "-m", "stadtruf.cli", "serve"])
    _, connection, calls, task = await served(restart)
    with structlog.testing.capture_logs() as logs, mask_kept():
        os.kill(os.getpid(), RESTART_SIGNAL)
        async with asyncio.timeout(5):
            await task
    assert restart.due
    assert sorted(calls.cancelled) == ["c1", "c2"]
    # Their cleanup reached neither Asterisk nor the records: the calls go on elsewhere.
    assert sorted(calls.refused) == ["c1", "c2"] and calls.reported == []
    ari = connection.ari
    assert not ari.calls("continue_in_dialplan") and not ari.calls("hangup")
    assert not ari.calls("remove_channel")
    events = [e["event"] for e in logs]
    assert "app.restarting" in events and "app.calls_handed_back" not in events
    assert next(e for e in logs if e["event"] == "app.restarting")["channels"] == 2


async def test_sigterm_still_hands_the_calls_back_to_the_dialplan() -> None:
    restart = Restart([PYTHON, "-m", "stadtruf.cli", "serve"])
    _, connection, calls, task = await served(restart)
    with mask_kept():
        os.kill(os.getpid(), signal.SIGTERM)
        async with asyncio.timeout(5):
            await task
    assert not restart.due
    handed = connection.ari.calls("continue_in_dialplan")
    assert sorted(c["channel_id"] for c in handed) == ["c1", "c2"]
    assert all(c["context"] == APOLOGY_CONTEXT for c in handed)
    assert sorted(calls.reported) == ["ended c1", "ended c2"]


BROKEN_CONFIG = "print('config/bottrop.yaml:3:1: kaputt'); raise SystemExit(1)"


async def signalled_until_logged(event: str, *, timeout: float) -> None:
    """Send this process the restart signal; return once the app has logged `event`."""
    with structlog.testing.capture_logs() as logs:
        os.kill(os.getpid(), RESTART_SIGNAL)
        async with asyncio.timeout(timeout):
            while not any(e["event"] == event for e in logs):
                await asyncio.sleep(0.01)


@pytest.mark.parametrize(
    ("argv", "check", "reason"),
    [
        ([PYTHON, "/replaced-venv/bin/stadtruf", "serve"], [], "Programm nicht gefunden"),
        ([PYTHON, "-m", "stadtruf.cli", "serve"], [PYTHON, "-c", BROKEN_CONFIG], "kaputt"),
    ],
    ids=["program gone", "config check fails"],
)
async def test_a_restart_refused_before_any_call_is_let_go(
    tmp_path: Path, argv: list[str], check: list[str], reason: str
) -> None:
    note = tmp_path / REFUSED_NOTE
    restart = Restart(argv, check=check, note=note)
    app, connection, calls, task = await served(restart)
    await signalled_until_logged("app.restart_refused", timeout=10)
    assert not task.done() and not restart.requested and not calls.cancelled
    assert reason in note.read_text()  # for `stadtruf restart` to show
    # The service goes on: a new call is taken as usual.
    connection.stream.push(stasis_start("c3"))
    await connection.stream.delivered()
    await app.stop()
    async with asyncio.timeout(5):
        await task
    assert not restart.due


async def test_a_restart_whose_check_passes_goes_ahead(tmp_path: Path) -> None:
    restart = Restart([PYTHON, "-m", "stadtruf.cli", "serve"], check=[PYTHON, "-c", "pass"])
    _, _, calls, task = await served(restart)
    with mask_kept():
        os.kill(os.getpid(), RESTART_SIGNAL)
        async with asyncio.timeout(10):
            await task
    assert restart.due and sorted(calls.cancelled) == ["c1", "c2"]


async def test_without_a_restart_sigusr2_is_logged_and_ignored(run_dir: Path) -> None:
    """`stadtruf up` owns its Asterisks: a re-exec would start them a second time."""
    app, _, calls, task = await served(None)
    await signalled_until_logged("app.restart_unsupported", timeout=2)
    assert not task.done() and not calls.cancelled
    assert "stadtruf up startet nicht neu" in (run_dir / REFUSED_NOTE).read_text()
    await app.stop()
    async with asyncio.timeout(5):
        await task


async def test_a_restart_asked_for_before_the_loop_handles_it_waits_for_it() -> None:
    """Held from before the pid file is written (and across the exec): a `stadtruf restart`
    in that moment is carried out once the service runs, instead of killing it."""
    restart = Restart([PYTHON, "-m", "stadtruf.cli", "serve"])
    gate = SinkGate()
    connection = FakeConnection()
    app = StasisApplication(SETTINGS, Calls(gate), connect=connection)
    with mask_kept(), signals_held():
        # To this thread: in `serve` it is the only one yet (pytest's others do not hold it).
        signal.pthread_kill(threading.get_ident(), RESTART_SIGNAL)  # not held: the end
        task = asyncio.create_task(run_until_signalled(app, restart=restart))
        async with asyncio.timeout(5):
            await task
    assert restart.due


async def test_a_stop_during_the_hand_over_wins_over_the_exec() -> None:
    restart = Restart([PYTHON, "-m", "stadtruf.cli", "serve"])
    _, _, _, task = await served(restart)
    with mask_kept():
        os.kill(os.getpid(), RESTART_SIGNAL)
        async with asyncio.timeout(2):
            while not restart.requested:
                await asyncio.sleep(0)
        restart.cancel()  # what SIGTERM does while the hand-over runs
        async with asyncio.timeout(5):
            await task
    assert restart.requested and not restart.due


# --- a real exec ---------------------------------------------------------------------------------

PROGRAM = """
import os, signal, sys, threading
from stadtruf.restart import Restart

if os.environ.get("STAGE") != "after":
    os.environ["STAGE"] = "after"
    read, write = os.pipe()
    os.set_inheritable(write, True)  # as a careless library might
    restart = Restart()
    restart.keep_pending()
    signal.pthread_kill(threading.main_thread().ident, signal.SIGUSR2)  # asked for meanwhile
    print(os.getpid(), os.fstat(write).st_ino, flush=True)
    sys.exit(restart.execute())
inodes = set()
for fd in os.listdir("/proc/self/fd"):
    try:
        inodes.add(os.fstat(int(fd)).st_ino)
    except OSError:
        pass
pending = int(signal.SIGUSR2) in {int(s) for s in signal.sigpending()}
print(os.getpid(), " ".join(map(str, sorted(inodes))), pending, flush=True)
"""


@pytest.mark.parametrize("form", ["script", "module"])
async def test_the_program_executes_itself_with_the_same_pid(tmp_path: Path, form: str) -> None:
    """A script (as the console script `stadtruf` runs) and `python -m`, for real: the same
    pid, no descriptor carried over, a restart asked for meanwhile still pending."""
    (tmp_path / "prog.py").write_text(PROGRAM)
    target = [str(tmp_path / "prog.py")] if form == "script" else ["-m", "prog"]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    process = await asyncio.create_subprocess_exec(
        PYTHON, *target, stdout=asyncio.subprocess.PIPE, env=env
    )
    async with asyncio.timeout(30):
        out, _ = await process.communicate()
    assert process.returncode == 0, out
    # The program's lines; the log (structlog's default: stdout) has its own.
    before, after = [line for line in out.decode().splitlines() if line.split()[0].isdigit()]
    pid, pipe = before.split()
    pid_after, inodes, pending = after.split(" ", 1)[0], after.split()[1:-1], after.split()[-1]
    assert pid_after == pid
    assert pipe not in inodes
    assert pending == "True"
