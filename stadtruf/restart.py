"""Restarting `stadtruf serve` without losing a call: SIGUSR2 (`stadtruf restart`).

First the new program is checked (its interpreter and script are there, and its `config check`
passes): a restart that could not start again is refused (`app.restart_refused`, and a note for
`stadtruf restart`) while the service goes on. Then the app hands its calls over
(`StasisApplication.hand_over`: they stay in Asterisk as they are,
each with its snapshot), the service closes what it holds (API server, background jobs, the call
records, flushed), and then the process executes its own command line anew: the same pid, so a
supervisor sees no exit and `run/stadtruf.pid` stays right. The new program (new code, new
config) adopts the calls as after a crash (docs/decisions.md #13, #14).

SIGINT/SIGTERM still stop: calls go back to the dialplan (`stadtruf.service`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Protocol

import structlog

log = structlog.get_logger(__name__)

RESTART_SIGNAL = signal.SIGUSR2
# Held (blocked, so pending rather than lost) from before the pid file is written until the
# loop handles them, and kept from the stop on and across the exec: a reload or a restart asked
# for in those moments waits for the program that can act on it, instead of killing the
# process (the default action of both).
HELD_SIGNALS = frozenset({signal.SIGHUP, RESTART_SIGNAL})
# Interpreter options that take the next argument as their value.
_OPTIONS_WITH_VALUE = frozenset({"-X", "-W", "--check-hash-based-pycs"})
CHECK_TIMEOUT_S = 60.0  # the new program's config check (about a second)
REFUSED_NOTE = "stadtruf.restart-refused"  # in the run directory, for `stadtruf restart`


class HandsOver(Protocol):
    async def hand_over(self) -> None: ...


def exec_argv(executable: str, orig_argv: Sequence[str]) -> list[str]:
    """The command line that runs this program again: the interpreter with its own options and
    the same script or `-m module` and arguments (`sys.argv` has neither `-m` nor the options,
    and `python -m stadtruf.cli` run as a script would shadow the stdlib's `logging`)."""
    return [executable, *orig_argv[1:]]


def with_option(argv: Sequence[str], option: str, value: str) -> list[str]:
    """`argv` with `option` (``--opt VALUE`` or ``--opt=VALUE``) set to `value`, or added."""
    result = list(argv)
    for i, arg in enumerate(result):
        if arg == option and i + 1 < len(result):
            result[i + 1] = value
            return result
        if arg.startswith(option + "="):
            result[i] = f"{option}={value}"
            return result
    return [*result, option, value]


def exec_problem(argv: Sequence[str]) -> str | None:
    """Why `argv` cannot be executed now (e.g. the virtualenv was moved), or None; German, as
    `stadtruf restart` shows it to the admin."""
    if not argv or not os.access(argv[0], os.X_OK):
        return f"Python nicht ausführbar: {argv[0] if argv else '(keins)'}"
    args = iter(argv[1:])
    for arg in args:
        if arg in ("-m", "-c", "-"):
            return None  # a module or a command: nothing on disk to look for here
        if arg in _OPTIONS_WITH_VALUE:
            next(args, None)
        elif not arg.startswith("-"):
            return None if os.path.isfile(arg) else f"Programm nicht gefunden: {arg}"
    return "kein Programm und kein Modul zum Starten"


def hold_signals() -> None:
    signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)


def release_signals() -> None:
    signal.pthread_sigmask(signal.SIG_UNBLOCK, HELD_SIGNALS)


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold reload and restart until the loop handles them (it releases them); restore the mask
    at the end (an exec inside keeps them held for the next program).

    The mask is the calling thread's: call it before any other thread starts (threads started
    later inherit it), or a signal sent to the process may reach one that does not hold it."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, HELD_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def keep_fds_private() -> int:
    """Make every descriptor past stdin/stdout/stderr close on exec; the count changed.

    Python opens its own non-inheritable (PEP 446); a library that made one inheritable would
    otherwise leak it into every program after this one (a listening socket: the next API
    server could not bind)."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        return 0  # not Linux: Python's default has to do
    changed = 0
    for name in names:
        fd = int(name)
        if fd <= 2:
            continue
        with contextlib.suppress(OSError):  # the listing's own descriptor, closed by now
            if os.get_inheritable(fd):
                os.set_inheritable(fd, False)
                changed += 1
    return changed


class Restart:
    """A restart of `stadtruf serve`: asked for by SIGUSR2, carried out after the service has
    closed (`execute`).

    `check`: a command line that must succeed first (the new program's `config check`, as
    `config reload` checks before it signals); `note`: where a refusal's reason is written for
    `stadtruf restart` to show."""

    def __init__(
        self,
        argv: Sequence[str] | None = None,
        *,
        check: Sequence[str] = (),
        note: Path | None = None,
    ) -> None:
        self.argv = list(argv) if argv is not None else exec_argv(sys.executable, sys.orig_argv)
        self.check = list(check)
        self.note = note
        self.requested = False
        self.cancelled = False  # a stop came: it wins over the restart
        self.pending: set[int] = set()  # reload, restart asked for after the loop ended
        self._checking = False
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def due(self) -> bool:
        return self.requested and not self.cancelled

    def request(self, app: HandsOver) -> None:
        """SIGUSR2: check the new program, then hand the calls over, so that the service stops
        and `execute` can run."""
        if self.requested or self._checking:
            log.info("app.restart_under_way")
            return
        self._checking = True
        log.info("app.restart_requested")
        task = asyncio.create_task(self._carry_out(app))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _carry_out(self, app: HandsOver) -> None:
        try:
            problem = exec_problem(self.argv) or await self._checked()
        finally:
            self._checking = False
        if problem is not None:  # before any call is let go: the service goes on
            log.error("app.restart_refused", reason=problem, argv=self.argv)
            leave_note(self.note, problem)
            return
        if self.cancelled:  # a stop came during the check: it hands the calls back
            return
        self.requested = True
        await app.hand_over()

    async def _checked(self) -> str | None:
        """Why the new program would not start (its check's last lines), or None."""
        if not self.check:
            return None
        try:
            process = await asyncio.create_subprocess_exec(
                *self.check, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
            )
        except OSError as exc:
            return f"Prüfung nicht ausführbar: {exc}"
        try:
            async with asyncio.timeout(CHECK_TIMEOUT_S):
                out, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            return f"Prüfung dauerte länger als {CHECK_TIMEOUT_S:.0f} s: {' '.join(self.check)}"
        if process.returncode != 0:
            lines = out.decode("utf-8", "replace").strip().splitlines()
            return "Prüfung fehlgeschlagen: " + " | ".join(
                lines[-5:] or [f"Status {process.returncode}"]
            )
        return None

    def keep_pending(self) -> None:
        """After the loop: a reload or restart asked for now is kept (for the next program,
        see `execute`) instead of killing the process mid-flush."""
        for signum in HELD_SIGNALS:
            signal.signal(signum, self._keep)

    def _keep(self, signum: int, frame: FrameType | None) -> None:
        self.pending.add(signum)

    def cancel(self) -> None:
        """A stop (SIGINT/SIGTERM): no restart. During the check the stop hands the calls back
        as usual; during the hand-over they were let go already and wait in Asterisk for
        whatever starts next."""
        if (self.requested or self._checking) and not self.cancelled:
            log.warning("app.restart_cancelled_by_stop", calls_left=self.requested)
        self.cancelled = True

    def execute(self) -> int:
        """Run the program anew in this process. Returns (1) only if that failed: the service
        has stopped then, its calls left in Asterisk for the next start."""
        private = keep_fds_private()
        if private:
            log.info("app.restart_fds_made_private", count=private)
        hold_signals()  # this thread's mask and pending signals are the next program's
        main = threading.main_thread().ident
        for signum in self.pending:
            if main is not None:
                signal.pthread_kill(main, signum)
        sys.stdout.flush()  # exec does not flush Python's buffers
        sys.stderr.flush()
        try:
            os.execv(self.argv[0], self.argv)
        except OSError as exc:
            release_signals()
            log.error("app.restart_failed", error=str(exc), argv=self.argv)
            return 1


def leave_note(note: Path | None, reason: str) -> None:
    """Why a restart was refused, for `stadtruf restart` to show."""
    if note is not None:
        with contextlib.suppress(OSError):
            note.write_text(reason + "\n", encoding="utf-8")


def restart_unsupported(note: Path | None = None) -> None:
    """SIGUSR2 to `stadtruf up`: it owns its Asterisks, a re-exec would start them twice."""
    log.warning(
        "app.restart_unsupported",
        hint="stadtruf up runs its own Asterisks: stop it (Ctrl-C) and start it again; "
        "stadtruf serve restarts in place",
    )
    leave_note(
        note,
        "stadtruf up startet nicht neu (es betreibt seine Asterisk-Instanzen selbst); "
        "Strg-C und neu starten",
    )
