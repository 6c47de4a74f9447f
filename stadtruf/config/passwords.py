"""Agents' SIP passwords: where each comes from, and the PJSIP endpoints they make.

Passwords come from the deployment, never from the agents file: `STADTRUF_AGENT_<ID>_PASSWORD`
or the file named by `password_file` (relative to the agents file). An agent becomes a PJSIP
endpoint once it has a usable password. Reads files, so this is the shell's side of the agents
file. Problems are for the admin (German), as `file:line:col: message`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path

from stadtruf.asterisk.agents import AgentEndpoint
from stadtruf.config.agents import Agent, AgentsConfig
from stadtruf.config.problems import Problem
from stadtruf.config.site import AGENTS_FILE
from stadtruf.core.credentials import MIN_LENGTH, weak_secret


def resolve_password(
    agent: Agent, environ: Mapping[str, str], base_dir: Path | None = None
) -> str | None:
    """The agent's SIP password: `password_file` if named, else the environment; None if unset.

    Trailing newlines (as editors write them) are not part of the password.
    """
    if agent.password_file is not None:
        path = Path(agent.password_file)
        if base_dir is not None and not path.is_absolute():
            path = base_dir / path
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n") or None
        except OSError:
            return None
    return environ.get(agent.password_env) or None


def agent_endpoints(
    agents: AgentsConfig,
    environ: Mapping[str, str],
    base_dir: Path,
    *,
    fallback: Mapping[str, str] | None = None,
) -> tuple[list[AgentEndpoint], list[Problem]]:
    """One endpoint per agent with a usable password, and a problem for every other agent.

    `base_dir` is the agents file's folder (`password_file` is relative to it). `fallback`
    maps agent id → password for agents that have none of their own (demo phones, see
    `demo_passwords`).
    """
    endpoints: list[AgentEndpoint] = []
    problems: list[Problem] = []
    for i, agent in enumerate(agents.agents):
        id_loc: tuple[str | int, ...] = ("agents", i, "id")
        # A password problem points at where the password was meant to come from.
        password_loc = id_loc if agent.password_file is None else ("agents", i, "password_file")
        if not _usable_id(agent.id):
            message = (
                f"Agenten-id '{agent.id}' taugt nicht als PJSIP-Endpunkt: nur Kleinbuchstaben, "
                "Ziffern, - und _ (höchstens 40 Zeichen)"
            )
            problems.append(_problem(agents, base_dir, id_loc, message))
            continue
        password = resolve_password(agent, environ, base_dir)
        if password is None and fallback is not None:
            password = fallback.get(agent.id)
        if password is None:
            problems.append(_problem(agents, base_dir, password_loc, _missing(agent, base_dir)))
            continue
        weak = weak_secret(password, name=agent.id)
        if weak is not None:
            # A weak SIP password is the first a scanner finds (docs/security.md); never the
            # password itself in the message.
            message = (
                f"Agent '{agent.id}': das Passwort aus {_password_place(agent, base_dir)} {weak}; "
                f"bitte ein zufälliges mit mindestens {MIN_LENGTH} Zeichen setzen "
                "(z. B. openssl rand -base64 18)"
            )
            problems.append(_problem(agents, base_dir, password_loc, message))
            continue
        try:
            endpoints.append(AgentEndpoint(agent.id, password))
        except ValueError:
            # Never the password itself in the message: it ends up in terminals and CI logs.
            message = (
                f"Agent '{agent.id}': das Passwort aus {_password_place(agent, base_dir)} "
                "enthält Zeichen, die pjsip.conf nicht aufnehmen kann "
                "(Zeilenumbruch, ';', '[' oder ']')"
            )
            problems.append(_problem(agents, base_dir, password_loc, message))
    return endpoints, sorted(problems)


def demo_passwords(agents: AgentsConfig) -> dict[str, str]:
    """A fresh random password per agent id, for `stadtruf up`'s test phones (never stored)."""
    # token_urlsafe uses letters, digits, - and _: nothing pjsip.conf could misread.
    return {agent.id: secrets.token_urlsafe(18) for agent in agents.agents}


def _usable_id(agent_id: str) -> bool:
    # AgentEndpoint checks the id and the password with one ValueError; probe the id alone so
    # the message can say which of the two is wrong.
    try:
        AgentEndpoint(agent_id, "probe")
    except ValueError:
        return False
    return True


def _password_file(agent: Agent, base_dir: Path) -> Path:
    assert agent.password_file is not None
    path = Path(agent.password_file)
    return path if path.is_absolute() else base_dir / path


def _password_place(agent: Agent, base_dir: Path) -> str:
    if agent.password_file is None:
        return f"${agent.password_env}"
    return str(_password_file(agent, base_dir))


def _missing(agent: Agent, base_dir: Path) -> str:
    if agent.password_file is None:
        return (
            f"Agent '{agent.id}' hat kein SIP-Passwort: Umgebungsvariable {agent.password_env} "
            "setzen oder password_file angeben"
        )
    # With password_file named, resolve_password does not look at the environment.
    return (
        f"Agent '{agent.id}' hat kein SIP-Passwort: password_file "
        f"{_password_file(agent, base_dir)} fehlt, ist leer oder nicht lesbar"
    )


def _problem(
    agents: AgentsConfig, base_dir: Path, loc: tuple[str | int, ...], message: str
) -> Problem:
    source = agents.source
    if source is None:  # built in code, not loaded: no positions to point at
        return Problem(base_dir / AGENTS_FILE.name, 1, 1, message)
    return source.problem(loc, message)


__all__ = ["agent_endpoints", "demo_passwords", "resolve_password"]
