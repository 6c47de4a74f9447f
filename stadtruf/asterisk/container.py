"""Asterisk in a Docker container: the image of asterisk-docker/Dockerfile, run like a rootfs
instance.

The container takes the same `InstanceSettings` as `rootfs.sh run`: the template values go in
as STADTRUF_* environment (the entrypoint renders the config), the instance directory is
mounted at /stadtruf with the generated files in `generated/` and the prompts in `sounds/`, and
Asterisk writes its log there, so `log_tail` and the prompts' paths are the same for both.
Host networking keeps the loopback addresses of the address plan. The ARI password reaches
`docker run` through its environment, never its command line.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from stadtruf.asterisk.instance import AsteriskInstance, AsteriskStartError, InstanceSettings
from stadtruf.paths import asterisk_docker_dir, dialplan_dir

BASE_IMAGE = "debian:sid"  # the Dockerfile's FROM
IMAGE = "stadtruf-asterisk"
IMAGE_LABEL = "org.stadtruf.image=asterisk"  # the Dockerfile's LABEL


class DockerError(RuntimeError):
    """A docker command failed; the message carries its output."""


@dataclass(frozen=True)
class Docker:
    """The docker client and the engine it talks to (`DOCKER_HOST`, empty: the default)."""

    client: str = "docker"
    host: str = ""
    # Extra environment of every docker command.
    env: Mapping[str, str] = field(default_factory=dict)

    def environment(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        if self.host:
            env["DOCKER_HOST"] = self.host
        env.update(self.env)
        env.update(extra or {})
        return env

    def run(
        self,
        *args: str,
        stdin: int | None = subprocess.DEVNULL,
        env: Mapping[str, str] | None = None,
        timeout: float = 120.0,
        check: bool = True,
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.client, *args],
            stdin=stdin,
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise DockerError(
                f"docker {' '.join(args[:3])} failed ({result.returncode}):\n"
                f"{(result.stderr or result.stdout).strip()}"
            )
        return result

    def has_image(self, name: str) -> bool:
        return self.run("image", "inspect", name, check=False).returncode == 0


def import_base_image(docker: Docker, work: Path, suite: str = "sid") -> None:
    """Make `debian:<suite>` from a debootstrap root filesystem, for engines without a registry.

    The same as the registry's image in spirit (Debian minbase); about 25 s of debootstrap and
    20 s of import. `work` is a scratch directory on a filesystem with room for ~250 MB.
    """
    if shutil.which("debootstrap") is None:
        raise DockerError(
            f"{BASE_IMAGE} is not in the engine and debootstrap is missing to make it: "
            "apt-get install debootstrap (./dev does)"
        )
    root = Path(tempfile.mkdtemp(prefix="base-", dir=work))
    try:
        log = work / "debootstrap-base.log"
        with log.open("wb") as out:
            done = subprocess.run(
                ["debootstrap", "--variant=minbase", suite, str(root)],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
            )
        if done.returncode != 0:
            raise DockerError(f"debootstrap of the base image failed, see {log}")
        tar = subprocess.Popen(["tar", "-C", str(root), "-c", "."], stdout=subprocess.PIPE)
        assert tar.stdout is not None
        try:
            docker.run("import", "-", f"debian:{suite}", stdin=tar.stdout.fileno(), timeout=600)
        finally:
            tar.stdout.close()
            tar.wait()
    finally:
        # --one-file-system: debootstrap mounts nothing that outlives it, but never walk into
        # a mount by accident.
        subprocess.run(["rm", "-rf", "--one-file-system", str(root)], check=False)


def build_image(docker: Docker, tag: str, *, timeout: float = 1200.0) -> None:
    """Build asterisk-docker/Dockerfile (context: the repository root). The classic builder:
    it needs no buildx plugin, and its layer cache makes an unchanged rebuild take a second."""
    root = asterisk_docker_dir().parent
    docker.run(
        "build",
        "--quiet",
        "--network",
        "host",
        "-f",
        str(asterisk_docker_dir() / "Dockerfile"),
        "-t",
        tag,
        str(root),
        env={"DOCKER_BUILDKIT": "0"},
        timeout=timeout,
    )
    # The image this build replaced, untagged now: only ours (the Dockerfile's label).
    docker.run("image", "prune", "--force", "--filter", f"label={IMAGE_LABEL}", check=False)


class ContainerInstance(AsteriskInstance):
    """One Asterisk in a container of `image`, named `container_name`; `start()`, `stop()`."""

    def __init__(
        self,
        settings: InstanceSettings,
        directory: Path,
        docker: Docker,
        image: str,
        container_name: str,
    ) -> None:
        super().__init__(settings, directory)
        self.docker = docker
        self.image = image
        self.container_name = container_name
        self._started = False

    @property
    def overlays(self) -> Sequence[str]:
        # The first template folder is the base the image always renders.
        return self.settings.templates[1:]

    def prepare(self) -> None:
        """Write the generated files into generated/; the entrypoint renders etc/."""
        generated = self.directory / "generated"
        if generated.exists():
            shutil.rmtree(generated)
        generated.mkdir(parents=True)
        for target, source in self.settings.folders.items():
            # The image carries the repository's dialplan/ (built from this checkout).
            if target != "dialplan" or source.resolve() != dialplan_dir().resolve():
                raise AsteriskStartError(
                    f"{self.settings.name}: the image has the checkout's dialplan/ only, "
                    f"not {source} as {target}/"
                )
        for name, content in self.settings.files.items():
            path = generated / name
            path.write_text(content, encoding="utf-8")
            path.chmod(0o600)

    def start(self, *, timeout: float = 90.0) -> None:
        if self._started:
            raise RuntimeError(f"{self.settings.name} is already running")
        self.prepare()
        if self.log_file.exists():
            self.log_file.unlink()
        self.remove()  # a container of a crashed earlier run with the same name
        values = {f"STADTRUF_{k}": v for k, v in self.settings.template_values().items()}
        values["STADTRUF_OVERLAY"] = " ".join(self.overlays)
        env_args = [arg for name in sorted(values) for arg in ("--env", name)]
        self.docker.run(
            "run",
            "--detach",
            "--init",
            "--network",
            "host",
            "--name",
            self.container_name,
            "--label",
            "org.stadtruf.instance=" + self.settings.name,
            "--volume",
            f"{self.directory.resolve()}:/stadtruf",
            *env_args,
            self.image,
            env=values,
        )
        self._started = True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                self._save_output()
                self.remove()
                self._started = False
                raise AsteriskStartError(
                    f"{self.settings.name}: the container stopped\n{self.log_tail()}"
                )
            if self.ari_ready():
                return
            time.sleep(0.2)
        self.stop()
        raise AsteriskStartError(
            f"{self.settings.name}: ARI did not answer within {timeout:.0f} s\n{self.log_tail()}"
        )

    def stop(self, *, timeout: float = 15.0) -> None:
        """`docker stop` (SIGTERM, SIGKILL after `timeout`), then remove the container."""
        if not self._started:
            return
        self._started = False
        self.docker.run(
            "stop",
            "--time",
            str(int(timeout)),
            self.container_name,
            timeout=timeout + 30,
            check=False,
        )
        self._save_output()
        self.remove()

    def remove(self) -> None:
        self.docker.run("rm", "--force", "--volumes", self.container_name, check=False)

    @property
    def running(self) -> bool:
        result = self.docker.run(
            "inspect", "--format", "{{.State.Running}}", self.container_name, check=False
        )
        return result.returncode == 0 and result.stdout.strip() == "true"

    def _save_output(self) -> None:
        # The entrypoint's and Asterisk's console output, for log_tail.
        logs = self.docker.run("logs", self.container_name, check=False)
        (self.directory / "stdout.log").write_text(logs.stdout + logs.stderr, encoding="utf-8")
