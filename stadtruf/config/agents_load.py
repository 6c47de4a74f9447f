"""Reading and checking the agents file: `load_agents(path)` and `check_agents(agents, center)`.

`load_agents` returns an immutable `AgentsConfig` or raises `ConfigError` with `file:line:col`
problems, like `stadtruf.config.load`; it also checks the rules inside the one file (unique
ids, an overflow where one is needed, no overflow loops). `check_agents` checks the references
into the service center's topics and clients. Messages are for the admin (German).
Callers load a whole config directory with `stadtruf.config.load_site`.
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from stadtruf.config.agents import (
    ANY,
    OVERFLOW_HELP,
    OVERFLOW_TAG,
    Agent,
    AgentsConfig,
    OverflowAnnounce,
    OverflowCallback,
    OverflowQueue,
    OverflowTransfer,
    OverflowVoicemail,
    PriorityRule,
    QueueRules,
    QueueSettings,
    Skill,
    layered_rules,
)
from stadtruf.config.checks import premium_target
from stadtruf.config.load import ServiceCenterConfig, validation_problem
from stadtruf.config.model import Prompt, QueueAction
from stadtruf.config.problems import ConfigError, Problem
from stadtruf.config.yamlsource import Source, read
from stadtruf.core.numbers import is_premium


def load_agents(path: Path) -> AgentsConfig:
    """Read and validate the agents file; raise `ConfigError` listing every problem found."""
    path = Path(path)
    source, problems = read(path)
    if source is None or problems:
        raise ConfigError(problems)
    if not isinstance(source.data, dict):
        raise ConfigError([source.problem((), "erwartet Schlüssel: Wert-Paare auf oberster Ebene")])
    try:
        config = AgentsConfig.model_validate(source.data)
    except ValidationError as exc:
        raise ConfigError([_problem(source, error) for error in exc.errors()]) from None
    config._source = source
    problems = list(_own_problems(source, config))
    if problems:
        raise ConfigError(problems)
    return config


@functools.cache
def _known_keys() -> frozenset[str]:
    models: tuple[type[BaseModel], ...] = (
        AgentsConfig,
        Agent,
        Skill,
        QueueSettings,
        PriorityRule,
        OverflowQueue,
        OverflowTransfer,
        OverflowCallback,
        OverflowAnnounce,
        OverflowVoicemail,
        Prompt,
    )
    return frozenset(name for model in models for name in model.model_fields)


def _problem(source: Source, error: ErrorDetails) -> Problem:
    loc = [item for item in error["loc"] if not str(item).startswith(OVERFLOW_TAG)]
    error = error.copy()
    error["loc"] = tuple(loc)
    if error["type"] == "extra_forbidden":
        # The config loader's hint knows only client keys; suggest ours.
        last = str(loc[-1]) if loc else ""
        hint = difflib.get_close_matches(last, _known_keys(), n=1)
        message = f"unbekannter Schlüssel '{last}'" + (
            f" (meinten Sie '{hint[0]}'?)" if hint else ""
        )
        return source.problem(loc, message, key=True)
    if error["type"] == "overflow":
        where = ".".join(str(item) for item in loc)
        return source.problem(loc, f"{where}: {OVERFLOW_HELP}")
    return validation_problem(source, error)


def _own_problems(source: Source, config: AgentsConfig) -> Iterator[Problem]:
    """Rules inside the one file: unique ids, max_wait needs an overflow, no overflow loops."""
    first: dict[str, int] = {}
    for i, agent in enumerate(config.agents):
        if agent.id in first:
            yield source.problem(
                ("agents", i, "id"),
                f"Agent '{agent.id}' gibt es schon (Eintrag {first[agent.id] + 1})",
            )
        else:
            first[agent.id] = i
    for topic in ("*defaults*", *config.queues):
        rules = layered_rules(config, topic)
        loc: tuple[str | int, ...] = ("defaults",) if topic == "*defaults*" else ("queues", topic)
        if rules.max_wait > 0 and rules.overflow is None:
            yield source.problem(loc, "max_wait braucht overflow (was danach geschieht)")
        if rules.overflow is None and (not rules.join_empty or rules.leave_when_empty):
            setting = "join_empty: false" if not rules.join_empty else "leave_when_empty: true"
            yield source.problem(loc, f"{setting} braucht overflow (wohin die Anrufer gehen)")
    for topic in config.queues:
        seen = [topic]
        rules = layered_rules(config, topic)
        while _overflows(rules) and isinstance(rules.overflow, OverflowQueue):
            target = rules.overflow.queue
            if target in seen:
                chain = " → ".join([*seen, target])
                yield source.problem(("queues", topic), f"overflow im Kreis: {chain}")
                break
            seen.append(target)
            rules = layered_rules(config, target)


def _overflows(rules: QueueRules) -> bool:
    """Whether the queue can send callers to its overflow at all."""
    return rules.max_wait > 0 or not rules.join_empty or rules.leave_when_empty


def check_agents(agents: AgentsConfig, center: ServiceCenterConfig) -> list[Problem]:
    """References from the agents file into the service center: topics and clients exist, and
    every topic a menu queues to has at least one agent with a matching skill."""
    source = agents.source
    topics = frozenset(center.service_center.topics)
    clients = frozenset(center.clients)

    def problem(loc: tuple[str | int, ...], message: str, *, key: bool = False) -> Problem:
        if source is None:
            return Problem(Path("agents.yaml"), 1, 1, message)
        return source.problem(loc, message, key=key)

    problems: list[Problem] = []

    def need(
        kind: str,
        value: str | None,
        known: frozenset[str],
        loc: tuple[str | int, ...],
        *,
        key: bool = False,
    ) -> None:
        if value is None or value == ANY or value in known:
            return
        hint = difflib.get_close_matches(value, known, n=1)
        hinted = f" (meinten Sie '{hint[0]}'?)" if hint else ""
        problems.append(problem(loc, f"{kind} '{value}' gibt es nicht{hinted}", key=key))

    for i, agent in enumerate(agents.agents):
        for j, skill in enumerate(agent.skills):
            need("Kunde", skill.client, clients, ("agents", i, "skills", j, "client"))
            need("Thema", skill.topic, topics, ("agents", i, "skills", j, "topic"))
    layers: list[tuple[tuple[str | int, ...], QueueSettings]] = [(("defaults",), agents.defaults)]
    for topic, settings in agents.queues.items():
        loc: tuple[str | int, ...] = ("queues", topic)
        need("Thema", topic, topics, loc, key=True)
        layers.append((loc, settings))
    for loc, settings in layers:
        if isinstance(settings.overflow, OverflowQueue):
            need("Thema", settings.overflow.queue, topics, (*loc, "overflow", "queue"))
        if isinstance(settings.overflow, OverflowTransfer) and is_premium(
            target := settings.overflow.transfer
        ):
            problems.append(problem((*loc, "overflow", "transfer"), premium_target(target)))
        for k, rule in enumerate(settings.priorities or ()):
            need("Kunde", rule.client, clients, (*loc, "priorities", k, "client"))

    # A queue nobody can answer only ever ends in overflow or a hang-up: say so before it runs.
    for topic, client_ids in sorted(_queued_topics(center).items()):
        for client_id in sorted(client_ids):
            if not any(a.level_for(client_id, topic) is not None for a in agents.agents):
                problems.append(
                    problem(
                        ("agents",),
                        f"kein Agent nimmt Thema '{topic}' für Kunde '{client_id}' an",
                    )
                )
    return sorted(problems)


def _queued_topics(center: ServiceCenterConfig) -> dict[str, set[str]]:
    """topic → clients whose menus (or the town menu's clients) queue to it."""
    queued: dict[str, set[str]] = {}
    for client in center.clients.values():
        for topic in _queue_actions(client.menu):
            queued.setdefault(topic, set()).add(client.id)
    return queued


def _queue_actions(value: object) -> Iterator[str]:
    if isinstance(value, QueueAction):
        yield value.queue
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _queue_actions(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _queue_actions(item)
    elif isinstance(value, tuple | list):
        for item in value:
            yield from _queue_actions(item)


__all__ = ["check_agents", "load_agents"]
