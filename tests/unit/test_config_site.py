"""`load_site`: the one loader of a config directory, clients' config and agents file, checked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from stadtruf.config import ConfigError, load_site
from stadtruf.config.site import agents_path

ROOT = Path(__file__).parents[2]
BASE = ROOT / "tests/broken_configs/_base"  # valid center, client alpha (queues kfz, abfall)
AGENTS = "agents:\n  - {id: agent-1, name: A, skills: [{topic: '*'}]}\n"


def directory(tmp_path: Path, agents: str | None = AGENTS) -> Path:
    target = tmp_path / "cfg"
    shutil.copytree(BASE, target)
    if agents is not None:
        agents_path(target).parent.mkdir()
        agents_path(target).write_text(agents, encoding="utf-8")
    return target


def test_the_sample_config_loads_with_its_agents() -> None:
    site = load_site(ROOT / "config")
    assert site.agents is not None and site.agents.agents
    assert "bottrop" in site.config.clients
    assert site.directory == ROOT / "config"
    assert site.agents_dir == ROOT / "config" / "agents"


def test_without_an_agents_file_there_are_no_agents(tmp_path: Path) -> None:
    assert load_site(directory(tmp_path, agents=None)).agents is None


def test_a_queue_that_needs_agents_refuses_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_site(directory(tmp_path, agents=None), require_agents=True)
    [problem] = caught.value.problems
    assert problem.file == agents_path(tmp_path / "cfg")


def test_every_problem_in_one_run_clients_first(tmp_path: Path) -> None:
    # The agents file's path sorts before alpha.yaml; the admin still reads the clients'
    # problems first, as `stadtruf config check` has always printed them.
    target = directory(tmp_path, "agents:\n  - {id: agent-1, nme: A}\n")
    (target / "alpha.yaml").write_text("id: alpha\nnme: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_site(target)
    files = [p.file.name for p in caught.value.problems]
    assert files[0] == "alpha.yaml" and files[-1] == "agents.yaml"
    assert files == sorted(files, key=lambda name: name == "agents.yaml")
    assert str(caught.value).splitlines() == [str(p) for p in caught.value.problems]


def test_references_between_the_files_are_checked(tmp_path: Path) -> None:
    target = directory(tmp_path, "agents:\n  - {id: agent-1, name: A, skills: [{topic: kfz}]}\n")
    with pytest.raises(ConfigError) as caught:
        load_site(target)
    assert "kein Agent nimmt Thema 'abfall' für Kunde 'alpha' an" in [
        p.message for p in caught.value.problems
    ]
    assert all(p.file == agents_path(target) for p in caught.value.problems)
