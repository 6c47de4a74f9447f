"""Start and stop one Asterisk instance from the project's templates.

An instance is a directory (etc/, db/, log/, run/ ...) plus a running Asterisk: in the cached
Debian root filesystem (`asterisk-docker/rootfs.sh run`) on machines without a Docker
engine. The process runs in its own process group so that one signal reaches Asterisk, and
dies with its parent (PR_SET_PDEATHSIG here for the set-up, `setpriv --pdeathsig KILL` in
rootfs.sh once it runs `unshare`, which blocks SIGTERM), so a crashed or killed runner leaves
no Asterisk behind.
"""

from __future__ import annotations

import base64
import ctypes
import os
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from stadtruf.paths import asterisk_docker_dir

_PR_SET_PDEATHSIG = 1


class AsteriskStartError(RuntimeError):
    """Asterisk did not come up; the message carries the tail of its log."""


@dataclass(frozen=True)
class InstanceSettings:
    """What differs between two Asterisk instances on one machine."""

    name: str
    bind_address: str
    sip_port: int
    http_port: int
    ari_user: str
    ari_password: str = field(repr=False)
    rtp_start: int = 20000
    rtp_end: int = 20999
    # Template folders: the first is the base, later ones replace files of the same name.
    templates: tuple[str, ...] = ("asterisk",)
    # Further @@NAME@@ values (STADTRUF_NAME), e.g. CARRIER_ADDRESS.
    values: Mapping[str, str] = field(default_factory=dict)
    # Generated files written into etc/ (file name -> content), e.g. the numbers dialplan.
    files: Mapping[str, str] = field(default_factory=dict)
    # Folders copied into etc/ (target name -> source), e.g. "dialplan" -> repo dialplan/.
    folders: Mapping[str, Path] = field(default_factory=dict)

    @property
    def ari_url(self) -> str:
        return f"http://{self.bind_address}:{self.http_port}/ari"

    @property
    def sip_uri(self) -> str:
        return f"sip:{self.bind_address}:{self.sip_port}"

    def template_values(self) -> dict[str, str]:
        values = {
            "BIND_ADDRESS": self.bind_address,
            "SIP_PORT": str(self.sip_port),
            "HTTP_PORT": str(self.http_port),
            "ARI_USER": self.ari_user,
            "ARI_PASSWORD": self.ari_password,
            "RTP_START": str(self.rtp_start),
            "RTP_END": str(self.rtp_end),
        }
        values.update(self.values)
        return values


def _die_with_parent() -> None:
    # Runs in the child between fork and exec.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class AsteriskInstance:
    """One Asterisk: `prepare()` the directory, `start()`, `stop()` (or use `with`)."""

    def __init__(self, settings: InstanceSettings, directory: Path) -> None:
        self.settings = settings
        self.directory = directory
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def etc(self) -> Path:
        return self.directory / "etc"

    @property
    def log_file(self) -> Path:
        return self.directory / "log" / "messages.log"

    def prepare(self) -> None:
        """Render the templates and generated files into a fresh etc/."""
        if self.etc.exists():
            shutil.rmtree(self.etc)
        self.directory.mkdir(parents=True, exist_ok=True)
        base = asterisk_docker_dir()
        env = dict(os.environ)
        # render-config.sh hashes this instance's ARI password itself; a hash from the
        # environment could belong to another password.
        env.pop("STADTRUF_ARI_PASSWORD_CRYPT", None)
        env.update({f"STADTRUF_{k}": v for k, v in self.settings.template_values().items()})
        sources = [str(base / t) for t in self.settings.templates]
        result = subprocess.run(
            [str(base / "render-config.sh"), str(self.etc), *sources],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise AsteriskStartError(f"rendering the Asterisk config failed:\n{result.stderr}")
        for target, source in self.settings.folders.items():
            shutil.copytree(source, self.etc / target)
        for name, content in self.settings.files.items():
            (self.etc / name).write_text(content, encoding="utf-8")
        # The rendered files hold the ARI password.
        for path in self.etc.rglob("*"):
            path.chmod(0o600 if path.is_file() else 0o700)

    def start(self, *, timeout: float = 90.0) -> None:
        """Start Asterisk and return once ARI answers; the first call may build the rootfs."""
        if self._process is not None:
            raise RuntimeError(f"{self.settings.name} is already running")
        self.prepare()
        if self.log_file.exists():
            self.log_file.unlink()
        output = (self.directory / "stdout.log").open("wb")
        self._process = subprocess.Popen(
            [str(asterisk_docker_dir() / "rootfs.sh"), "run", str(self.directory)],
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        output.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                code = self._process.returncode
                self._process = None
                raise AsteriskStartError(
                    f"{self.settings.name}: Asterisk exited with status {code}\n{self.log_tail()}"
                )
            if self.ari_ready():
                return
            time.sleep(0.2)
        self.stop()
        raise AsteriskStartError(
            f"{self.settings.name}: ARI did not answer within {timeout:.0f} s\n{self.log_tail()}"
        )

    def ari_ready(self) -> bool:
        token = base64.b64encode(
            f"{self.settings.ari_user}:{self.settings.ari_password}".encode()
        ).decode()
        request = urllib.request.Request(
            f"{self.settings.ari_url}/asterisk/info",
            headers={"Authorization": f"Basic {token}"},
        )
        try:
            with urllib.request.urlopen(request, timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self, *, timeout: float = 15.0) -> None:
        """SIGTERM to the process group, SIGKILL if Asterisk has not gone within `timeout`."""
        process, self._process = self._process, None
        if process is None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        # Children (Asterisk itself) may outlive unshare by a moment.
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            try:
                os.killpg(process.pid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        parts = []
        for path in (self.directory / "stdout.log", self.log_file):
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                parts.append(f"--- {path}\n" + "\n".join(text))
        return "\n".join(parts) or "(no log written)"

    def __enter__(self) -> AsteriskInstance:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
