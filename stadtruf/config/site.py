"""One config directory, loaded and checked as a whole: the clients' config and the agents file.

`load_site(directory)` is the one way in for every command and the service's reload: it reads
the clients' config (`stadtruf.config.load`) and, if there is one, the agents file
`<directory>/agents/agents.yaml` (a subfolder, because `load` reads every top-level `*.yaml` as
a client file), checks the agents file's references into topics and clients, and returns both
or raises `ConfigError` with every problem found. Both files are read even when one is broken,
so the admin gets every problem in one run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stadtruf.config.agents import AgentsConfig
from stadtruf.config.agents_load import check_agents, load_agents
from stadtruf.config.load import ServiceCenterConfig, load
from stadtruf.config.problems import ConfigError, Problem

AGENTS_FILE = Path("agents") / "agents.yaml"


def agents_path(config_dir: Path) -> Path:
    """The agents file of the config directory `config_dir` (it may not exist)."""
    return Path(config_dir) / AGENTS_FILE


@dataclass(frozen=True)
class Site:
    """A config directory that passed every check; built by `load_site`."""

    config: ServiceCenterConfig
    agents: AgentsConfig | None  # None: the directory has no agents file

    @property
    def directory(self) -> Path:
        return self.config.directory

    @property
    def agents_dir(self) -> Path:
        """The agents file's folder (its `password_file` entries are relative to it)."""
        return agents_path(self.directory).parent


def load_site(config_dir: Path, *, require_agents: bool = False) -> Site:
    """Read and check `config_dir`; raise `ConfigError` listing every problem found.

    `require_agents`: a missing agents file is a problem too (a running queue needs one).
    The problems keep the order `stadtruf config check` has always shown: the clients'
    files, then the agents file, then the references between them, each sorted.
    """
    groups: list[list[Problem]] = []
    config = None
    try:
        config = load(config_dir)
    except ConfigError as exc:
        groups.append(exc.problems)
    agents = None
    path = agents_path(config_dir)
    if require_agents or path.exists():
        try:
            agents = load_agents(path)
        except ConfigError as exc:
            groups.append(exc.problems)
    if config is not None and agents is not None:
        groups.append(check_agents(agents, config))
    if any(groups) or config is None:
        raise ConfigError(*groups)
    return Site(config, agents)


__all__ = ["AGENTS_FILE", "Site", "agents_path", "load_site"]
