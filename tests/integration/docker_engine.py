"""A Docker engine for the container tests: the machine's own if one answers, else a private
dockerd that these tests start and stop.

The private engine runs with host networking only (`--bridge=none --iptables=false ...`: no
bridge, no NAT, no firewall rules on the CI machine), its socket and state in a fresh /tmp
directory, its images in ~/.cache/stadtruf/docker so that the layer cache makes the second
run's build take a second. A lock file keeps two test runs on one machine from sharing that
directory at once. If it cannot start, the error says why: the container tests then fail,
they are never skipped.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from stadtruf.asterisk.container import Docker, DockerError

ENGINE_FLAGS = (
    "--bridge=none",
    "--iptables=false",
    "--ip6tables=false",
    "--ip-forward=false",
    "--ip-masq=false",
)
_PR_SET_PDEATHSIG = 1
RUN_DIR_PREFIX = "stadtruf-dockerd-"


class EngineError(RuntimeError):
    """The Docker engine is not usable; the message says what to do."""


def _die_with_parent() -> None:
    # A killed test run leaves no engine behind: dockerd stops its containers on SIGTERM.
    ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _client_for(dockerd: str | None) -> str:
    # The client of the engine's own package first: another docker on the PATH may be a newer
    # CLI that expects buildx.
    if dockerd is not None:
        sibling = Path(dockerd).resolve().parent.parent / "bin" / "docker"
        if sibling.exists():
            return str(sibling)
    client = shutil.which("docker")
    if client is None:
        raise EngineError("the docker client is missing: apt-get install docker.io (./dev does)")
    return client


def _answers(docker: Docker) -> bool:
    try:
        return docker.run("version", timeout=10, check=False).returncode == 0
    except subprocess.TimeoutExpired:
        return False


def _mounts_below(*paths: Path) -> list[str]:
    roots = [str(p.resolve()) for p in paths]
    with open("/proc/self/mounts", encoding="utf-8") as mounts:
        points = [line.split()[1] for line in mounts]
    return [m for m in points if any(m == r or m.startswith(r + "/") for r in roots)]


@contextlib.contextmanager
def _locked(path: Path, timeout: float) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise EngineError(
                        f"another test run holds {path} (its private Docker engine) for over "
                        f"{timeout:.0f} s"
                    ) from None
                time.sleep(1)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


@contextlib.contextmanager
def docker_engine(cache: Path, *, lock_timeout: float = 900.0) -> Iterator[Docker]:
    """A usable engine for the duration of the block; a private one is stopped afterwards."""
    dockerd = shutil.which("dockerd") or next(
        (p for p in ("/usr/sbin/dockerd", "/usr/bin/dockerd") if os.path.exists(p)), None
    )
    machine = Docker(client=_client_for(dockerd))
    if _answers(machine):
        yield machine  # the machine's engine: used, never stopped
        return
    if dockerd is None:
        raise EngineError("dockerd is missing: apt-get install docker.io (./dev does)")
    if os.geteuid() != 0:
        raise EngineError("starting a Docker engine needs root")
    if not any(Path("/sys/fs/cgroup").iterdir()):
        raise EngineError("no cgroup filesystem at /sys/fs/cgroup: dockerd needs one")
    data_root = cache / "docker"
    with _locked(cache / "docker.lock", lock_timeout):
        _remove_stale_run_dirs()
        run_dir = Path(tempfile.mkdtemp(prefix=RUN_DIR_PREFIX))
        docker = Docker(client=machine.client, host=f"unix://{run_dir}/docker.sock")
        log_path = run_dir / "dockerd.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [
                    dockerd,
                    "--host",
                    docker.host,
                    "--data-root",
                    str(data_root),
                    "--exec-root",
                    str(run_dir / "exec"),
                    "--pidfile",
                    str(run_dir / "dockerd.pid"),
                    *ENGINE_FLAGS,
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        try:
            deadline = time.monotonic() + 60
            while not _answers(docker):
                if process.poll() is not None or time.monotonic() > deadline:
                    tail = log_path.read_text(errors="replace").splitlines()[-25:]
                    raise EngineError(
                        "the private Docker engine did not start "
                        f"(data root {data_root}: it needs a filesystem with overlay or vfs "
                        "support, cgroups and root):\n" + "\n".join(tail)
                    )
                time.sleep(0.3)
            yield docker
        finally:
            _stop(process, docker)
            # dockerd leaves its own network namespace's bind mount (exec-root/netns/default)
            # behind on shutdown: that one is expected; anything else is a leak to report.
            expected = str((run_dir / "exec" / "netns" / "default").resolve())
            mounts = _mounts_below(run_dir, data_root)
            for mount in reversed(mounts):
                subprocess.run(["umount", "--lazy", mount], check=False)
            leftovers = _mounts_below(run_dir, data_root) + [m for m in mounts if m != expected]
            shutil.rmtree(run_dir, ignore_errors=True)
            if leftovers:
                raise EngineError(f"the engine left mounts behind (now unmounted): {leftovers}")


def _remove_stale_run_dirs() -> None:
    """Run directories of engines that died with a killed test run (called under the lock,
    so no other private engine is running): unmount what dockerd left, remove them."""
    for stale in Path(tempfile.gettempdir()).glob(RUN_DIR_PREFIX + "*"):
        pid_file = stale / "dockerd.pid"
        with contextlib.suppress(OSError, ValueError):
            os.kill(int(pid_file.read_text()), 0)
            continue  # its dockerd still runs: not ours to touch
        for mount in reversed(_mounts_below(stale)):
            subprocess.run(["umount", "--lazy", mount], check=False)
        if not _mounts_below(stale):
            shutil.rmtree(stale, ignore_errors=True)


def _stop(process: subprocess.Popen[bytes], docker: Docker) -> None:
    """Remove every container, then SIGTERM dockerd (it stops its containerd), SIGKILL late."""
    with contextlib.suppress(DockerError, subprocess.TimeoutExpired):
        ids = docker.run("ps", "--all", "--quiet", timeout=30).stdout.split()
        if ids:
            docker.run("rm", "--force", "--volumes", *ids, timeout=60, check=False)
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
    # containerd and its shims are in dockerd's process group; none may outlive it.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
