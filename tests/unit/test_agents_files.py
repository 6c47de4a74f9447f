"""The agents file in the commands: where it is, passwords → endpoints, `asterisk render` writing
(and reloading) pjsip_agents.conf, and `config check` reporting the file's problems."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import shutil
import stat
import textwrap
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from stadtruf import cli
from stadtruf.asterisk.agents import AgentEndpoint
from stadtruf.commands.up import agent_phone_endpoints
from stadtruf.config import load_site
from stadtruf.config.agents import Agent, AgentsConfig, Skill
from stadtruf.config.agents_load import load_agents
from stadtruf.config.passwords import agent_endpoints, demo_passwords
from stadtruf.config.site import AGENTS_FILE, agents_path

BASE = Path(__file__).parents[1] / "broken_configs" / "_base"  # valid center, client alpha
OURS = ("stadtruf.commands.config", "stadtruf.commands.asterisk")

# Two agents covering the base config's queues (kfz, abfall); agent-2 reads a password file.
AGENTS = """
agents:
  - id: agent-1
    name: Anna
    skills: [{topic: kfz}]
  - id: agent-2
    name: Ben
    password_file: secrets/agent-2.password
    skills: [{topic: abfall}, {topic: vermittlung}]
"""
ENV_1 = "STADTRUF_AGENT_AGENT_1_PASSWORD"


@pytest.fixture(autouse=True)
def _only_our_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # The real `stadtruf.cli.main`, with only the subcommands this file is about.
    monkeypatch.setattr(cli, "_COMMAND_MODULES", OURS)


@pytest.fixture(autouse=True)
def _no_agent_passwords(monkeypatch: pytest.MonkeyPatch) -> None:
    # The developer's shell must not decide the outcome.
    for name in ("STADTRUF_ARI_PASSWORD", "STADTRUF_ARI_URL", "STADTRUF_ARI_USER", ENV_1):
        monkeypatch.delenv(name, raising=False)


def config_dir(tmp_path: Path, agents: str | None = AGENTS, secret: str | None = None) -> Path:
    """A copy of the base config, with `agents` as its agents file and agent-2's secret."""
    directory = tmp_path / "cfg"
    shutil.copytree(BASE, directory)
    if agents is not None:
        path = agents_path(directory)
        path.parent.mkdir()
        path.write_text(textwrap.dedent(agents).lstrip("\n"), encoding="utf-8")
    if secret is not None:
        (directory / "agents" / "secrets").mkdir()
        (directory / "agents" / "secrets" / "agent-2.password").write_text(secret)
    return directory


# --- Where the file is --------------------------------------------------------------------


def test_agents_file_is_in_a_subfolder(tmp_path: Path) -> None:
    # A top-level *.yaml would be read as a client file.
    assert AGENTS_FILE.parent != Path(".")
    assert agents_path(tmp_path) == tmp_path / "agents" / "agents.yaml"


@pytest.mark.parametrize(("agents", "expected"), [(None, None), (AGENTS, ["agent-1", "agent-2"])])
def test_load_site_reads_the_agents_file_if_there_is_one(
    tmp_path: Path, agents: str | None, expected: list[str] | None
) -> None:
    loaded = load_site(config_dir(tmp_path, agents)).agents
    assert (None if loaded is None else [a.id for a in loaded.agents]) == expected


# --- Passwords → endpoints ----------------------------------------------------------------


@dataclass
class Case:
    env: dict[str, str] = field(default_factory=dict)
    secret: str | None = None  # agent-2's password file
    fallback: dict[str, str] | None = None
    endpoints: dict[str, str] = field(default_factory=dict)  # id → password
    problems: list[str] = field(default_factory=list)  # "line:col: fragment"


CASES = {
    "env and file": Case(
        env={ENV_1: "eins-Kx7pQ2mZ"},
        secret="zwei-Rt5wN8vB\n",  # an editor's trailing newline is not part of the password
        endpoints={"agent-1": "eins-Kx7pQ2mZ", "agent-2": "zwei-Rt5wN8vB"},
    ),
    "missing env": Case(
        secret="zwei-Rt5wN8vB",
        endpoints={"agent-2": "zwei-Rt5wN8vB"},
        problems=[f"2:9: Agent 'agent-1' hat kein SIP-Passwort: Umgebungsvariable {ENV_1}"],
    ),
    "missing file": Case(
        env={ENV_1: "eins-Kx7pQ2mZ"},
        endpoints={"agent-1": "eins-Kx7pQ2mZ"},
        problems=["7:20: Agent 'agent-2' hat kein SIP-Passwort: password_file"],
    ),
    "file wins over env": Case(
        env={ENV_1: "eins-Kx7pQ2mZ", "STADTRUF_AGENT_AGENT_2_PASSWORD": "env-Lm3qW9xYz"},
        secret="datei-Pq2sL5tG",
        endpoints={"agent-1": "eins-Kx7pQ2mZ", "agent-2": "datei-Pq2sL5tG"},
    ),
    "unusable characters": Case(
        env={ENV_1: "ge;heim-Kx7pQ2mZ"},
        secret="zwei-Rt5wN8vB",
        endpoints={"agent-2": "zwei-Rt5wN8vB"},
        problems=[f"2:9: Agent 'agent-1': das Passwort aus ${ENV_1} enthält Zeichen"],
    ),
    "fallback fills the gaps only": Case(
        env={ENV_1: "eins-Kx7pQ2mZ"},
        fallback={"agent-1": "demo1-Hj4kP7sD", "agent-2": "demo2-Wc8rT3fJ"},
        endpoints={"agent-1": "eins-Kx7pQ2mZ", "agent-2": "demo2-Wc8rT3fJ"},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_agent_endpoints(tmp_path: Path, case: Case) -> None:
    directory = config_dir(tmp_path, secret=case.secret)
    agents = load_site(directory).agents
    assert agents is not None

    endpoints, problems = agent_endpoints(
        agents, case.env, agents_path(directory).parent, fallback=case.fallback
    )

    assert {e.id: e.password for e in endpoints} == case.endpoints
    assert len(problems) == len(case.problems)
    for problem, expected in zip(problems, case.problems, strict=True):
        assert problem.file == agents_path(directory)
        assert f"{problem.line}:{problem.col}: {problem.message}".startswith(expected)
        assert "ge;heim" not in problem.message


def test_missing_file_problem_names_the_file(tmp_path: Path) -> None:
    directory = config_dir(tmp_path)
    agents = load_site(directory).agents
    assert agents is not None
    _, problems = agent_endpoints(agents, {ENV_1: "x-Vb6nM2cXq9"}, agents_path(directory).parent)
    assert str(directory / "agents" / "secrets" / "agent-2.password") in problems[0].message


def test_id_that_is_no_pjsip_endpoint(tmp_path: Path) -> None:
    # The agents file allows upper case in ids; a PJSIP endpoint name of ours does not.
    path = tmp_path / "agents.yaml"
    path.write_text("agents:\n  - {id: Agent-1, name: A, skills: [{topic: kfz}]}\n")
    env = {"STADTRUF_AGENT_AGENT_1_PASSWORD": "pw"}
    endpoints, problems = agent_endpoints(load_agents(path), env, tmp_path)
    assert endpoints == []
    assert [(p.line, p.col) for p in problems] == [(2, 10)]
    assert "Agenten-id 'Agent-1' taugt nicht als PJSIP-Endpunkt" in problems[0].message


def test_agents_built_in_code_point_at_the_file(tmp_path: Path) -> None:
    agents = AgentsConfig(agents=(Agent(id="agent-1", name="A", skills=(Skill(),)),))
    _, problems = agent_endpoints(agents, {}, tmp_path)
    assert [(p.file, p.line, p.col) for p in problems] == [(tmp_path / "agents.yaml", 1, 1)]


def test_demo_passwords_are_fresh_and_usable(tmp_path: Path) -> None:
    agents = load_site(config_dir(tmp_path)).agents
    assert agents is not None
    first, second = demo_passwords(agents), demo_passwords(agents)
    assert sorted(first) == ["agent-1", "agent-2"]
    assert first != second
    assert [AgentEndpoint(i, p).id for i, p in first.items()] == ["agent-1", "agent-2"]


# --- stadtruf asterisk render ---------------------------------------------------------------


def render(directory: Path, out: Path, *extra: str) -> int:
    return cli.main(["asterisk", "render", "--config", str(directory), "--out", str(out), *extra])


def test_render_writes_the_agents_endpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV_1, "eins-Kx7pQ2mZ")
    out = tmp_path / "out"

    status = render(config_dir(tmp_path, secret="zwei-Rt5wN8vB"), out, "--address", "192.0.2.10")

    assert status == 0
    conf = out / "pjsip_agents.conf"
    text = conf.read_text()
    assert "[agent-1]" in text and "password = eins-Kx7pQ2mZ" in text
    assert "[agent-2]" in text and "password = zwei-Rt5wN8vB" in text
    assert "media_address = 192.0.2.10" in text
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600  # it holds the passwords
    assert (out / "stadtruf-numbers.conf").exists()
    printed = capsys.readouterr().out
    assert f"wrote {conf}" in printed and "eins-Kx7pQ2mZ" not in printed


def test_render_without_agents_file_writes_no_endpoints(tmp_path: Path) -> None:
    # The file is still written: pjsip.conf includes it, and an old one must not linger.
    out = tmp_path / "out"
    assert render(config_dir(tmp_path, agents=None), out) == 0
    assert "type = endpoint" not in (out / "pjsip_agents.conf").read_text()


def test_render_with_a_missing_password_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    directory = config_dir(tmp_path, secret="zwei-Rt5wN8vB")

    status = render(directory, out)

    assert status == 1
    assert not out.exists()
    err = capsys.readouterr().err
    assert f"{agents_path(directory)}:2:9: Agent 'agent-1' hat kein SIP-Passwort" in err
    assert ENV_1 in err
    assert "Traceback" not in err


@contextlib.contextmanager
def fake_ari(status: int = 204) -> Iterator[tuple[str, list[str]]]:
    """An ARI that records module reloads, on its own loop: the command runs asyncio.run."""
    reloaded: list[str] = []

    async def reload(request: web.Request) -> web.Response:
        assert request.headers["Authorization"].startswith("Basic ")
        reloaded.append(request.match_info["module"])
        return web.Response(status=status)

    app = web.Application()
    app.router.add_put("/ari/asterisk/modules/{module}", reload)
    runner = web.AppRunner(app)
    loop = asyncio.new_event_loop()
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
    port = runner.addresses[0][1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/ari", reloaded
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        loop.run_until_complete(runner.cleanup())
        loop.close()


def test_render_reload_reloads_pjsip_through_ari(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(ENV_1, "eins-Kx7pQ2mZ")
    monkeypatch.setenv("STADTRUF_ARI_PASSWORD", "ari-Vb6nM2cXq9-t4Kw8Lr")
    with fake_ari() as (url, reloaded):
        monkeypatch.setenv("STADTRUF_ARI_URL", url)
        status = render(config_dir(tmp_path, secret="zwei-Rt5wN8vB"), tmp_path / "out", "--reload")
    assert status == 0
    assert reloaded == ["res_pjsip.so", "pbx_config.so"]
    assert "reloaded res_pjsip.so" in capsys.readouterr().out


def test_render_reload_refused_by_asterisk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STADTRUF_ARI_PASSWORD", "ari-Vb6nM2cXq9-t4Kw8Lr")
    with fake_ari(status=409) as (url, _):
        monkeypatch.setenv("STADTRUF_ARI_URL", url)
        status = render(config_dir(tmp_path, agents=None), tmp_path / "out", "--reload")
    assert status == 1
    err = capsys.readouterr().err
    assert err.startswith("Asterisk nicht neu geladen:") and "Traceback" not in err


def test_render_reload_without_ari_password_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert render(config_dir(tmp_path, agents=None), out, "--reload") == 2
    assert not out.exists()
    assert "STADTRUF_ARI_PASSWORD" in capsys.readouterr().err


# --- stadtruf config check ------------------------------------------------------------------

BROKEN = {
    "misspelt key": (
        "agents:\n  - id: agent-1\n    name: A\n    skils: [{topic: kfz}]\n",
        "4:5: unbekannter Schlüssel 'skils' (meinten Sie 'skills'?)",
    ),
    "yaml syntax": ("agents: [\n", "2:1: YAML-Syntaxfehler"),
    "unknown topic": (
        AGENTS.replace("{topic: abfall}", "{topic: abfal}"),
        "8:22: Thema 'abfal' gibt es nicht (meinten Sie 'abfall'?)",
    ),
}


@pytest.mark.parametrize(("text", "expected"), BROKEN.values(), ids=BROKEN.keys())
def test_config_check_reports_the_agents_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    directory = config_dir(tmp_path, text)

    status = cli.main(["config", "check", str(directory)])

    out, err = capsys.readouterr()
    assert status == 1
    assert "Traceback" not in out + err
    assert any(
        row.startswith(f"{agents_path(directory)}:{expected}") for row in out.splitlines()
    ), out
    assert all(re.match(r"^.+:\d+:\d+: .+", row) for row in out.splitlines())


def test_config_check_reports_clients_and_agents_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    directory = config_dir(tmp_path, BROKEN["misspelt key"][0])
    (directory / "alpha.yaml").write_text("id: alpha\nnme: x\n")
    assert cli.main(["config", "check", str(directory)]) == 1
    out = capsys.readouterr().out
    assert str(directory / "alpha.yaml") in out
    assert str(agents_path(directory)) in out


@pytest.mark.parametrize(("agents", "summary"), [(AGENTS, ", 2 Agenten"), (None, "Vorwahlen")])
def test_config_check_passes_without_passwords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], agents: str | None, summary: str
) -> None:
    # Passwords come from the deployment; `check` is about the files.
    assert cli.main(["config", "check", str(config_dir(tmp_path, agents))]) == 0
    assert capsys.readouterr().out.rstrip().endswith(summary)


# --- stadtruf up: which agents get an endpoint ----------------------------------------------


@pytest.mark.parametrize(
    ("test_phones", "ids"), [(True, ["agent-1", "agent-2"]), (False, ["agent-1"])]
)
def test_up_endpoints(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    test_phones: bool,
    ids: list[str],
) -> None:
    monkeypatch.setenv(ENV_1, "eins-Kx7pQ2mZ")
    directory = config_dir(tmp_path)  # agent-2's password file is missing
    agents = load_site(directory).agents
    assert agents is not None

    args = argparse.Namespace(config=directory, test_phones=test_phones)
    endpoints = agent_phone_endpoints(agents, args)

    assert [e.id for e in endpoints] == ids
    assert (
        endpoints[0].password == "eins-Kx7pQ2mZ"
    )  # a real password is never replaced by a demo one
    skipped = capsys.readouterr().err
    assert ("agent-2" in skipped and "übersprungen" in skipped) is not test_phones


@pytest.mark.parametrize(
    "weak", ["", "geheim", "1234", "agent-1-passwort", "kurz-123", "aaaaaaaaaaaaaa"]
)
def test_a_weak_agent_password_makes_no_endpoint(tmp_path: Path, weak: str) -> None:
    """Default, sample, short or name-like SIP passwords are what svcrack tries first."""
    directory = config_dir(tmp_path, secret="zwei-Rt5wN8vB")
    agents = load_site(directory).agents
    assert agents is not None
    endpoints, problems = agent_endpoints(agents, {ENV_1: weak}, agents_path(directory).parent)
    assert [e.id for e in endpoints] == ["agent-2"]
    assert len(problems) == 1 and "agent-1" in problems[0].message
    assert not weak or weak not in problems[0].message.split("Passwort aus", 1)[1]
