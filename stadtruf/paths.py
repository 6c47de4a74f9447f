"""Where the project's non-Python assets live (Asterisk templates, dialplan, sample config)."""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """The checkout that holds `asterisk-docker/`, `dialplan/` and `config/`.

    stadtruf is installed editable from its checkout (see README); STADTRUF_HOME overrides
    this for an installation that keeps the assets elsewhere.
    """
    override = os.environ.get("STADTRUF_HOME")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parent.parent


def asterisk_docker_dir() -> Path:
    return project_root() / "asterisk-docker"


def dialplan_dir() -> Path:
    return project_root() / "dialplan"


def sample_config_dir() -> Path:
    return project_root() / "config"


def run_dir() -> Path:
    """Scratch space of a running service center (instance dirs, generated secrets)."""
    return Path(os.environ.get("STADTRUF_RUN_DIR", project_root() / "run"))
