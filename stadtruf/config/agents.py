"""Agents and queue settings in YAML: who may take which calls, and how each queue behaves.

One file (see `config/agents/agents.yaml`) holds

- `agents`: the people on the phones. `id` is also the PJSIP endpoint the queue rings
  (`agent-101`); `skills` say which client/topic pairs the agent takes, each with a `level`
  1–10 that works like app_queue's penalty: lower is preferred, `"*"` matches any.
- `defaults` and `queues`: per queue (topic) settings; a queue's value wins over `defaults`,
  `defaults` over the built-in values in `BUILTIN`.

No secrets live here: an agent's SIP password comes from the environment variable
`STADTRUF_AGENT_<ID>_PASSWORD` (`agent-101` → `STADTRUF_AGENT_AGENT_101_PASSWORD`) or from the
file named by `password_file` (relative to the agents file). The model only names the place.

`load_agents(path)` returns an immutable `AgentsConfig` or raises `ConfigError` with
`file:line:col` problems, like `stadtruf.config.load`. `check_agents(agents, center)` checks the
references into the service center's topics and clients. Messages are for the admin (German).
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    ValidationError,
    model_validator,
)

from stadtruf.config.checks import premium_target
from stadtruf.config.load import ServiceCenterConfig
from stadtruf.config.load import _problem as _config_problem
from stadtruf.config.model import (
    Frozen,
    FrozenMap,
    Identifier,
    Prompt,
    QueueAction,
    TransferTarget,
    _checked,
    _freeze,
)
from stadtruf.config.problems import ConfigError, Problem
from stadtruf.config.yamlsource import Source, read
from stadtruf.core.numbers import is_premium

ANY = "*"
Strategy = Literal["longest_idle", "round_robin", "fewest_calls"]
DialledKind = Literal["switchboard", "service_number"]


def _agent_id(value: str) -> str | None:
    # A PJSIP endpoint name that is also safe in an environment variable name and a log line.
    ok = bool(value) and len(value) <= 40 and value[0].isascii() and value[0].isalnum()
    ok = ok and all(c.isascii() and (c.isalnum() or c in "-_") for c in value)
    return value if ok else None


AgentId = Annotated[
    str,
    _checked(_agent_id, "'{value}' taugt nicht als Agenten-id: Buchstaben, Ziffern, - und _"),
    Field(description="Agenten-id, zugleich PJSIP-Endpunkt, z. B. agent-101"),
]
IdOrAny = Identifier | Literal["*"]


class Skill(Frozen):
    """Which calls an agent takes: client and topic (or `"*"`), at a level (lower = first)."""

    client: IdOrAny = Field(default=ANY, description="Kunde oder '*' für alle")
    topic: IdOrAny = Field(default=ANY, description="Thema oder '*' für alle")
    level: int = Field(
        default=1, ge=1, le=10, description="1 (bevorzugt) bis 10 (nur wenn sonst niemand frei)"
    )

    def matches(self, client: str, topic: str) -> bool:
        return self.client in (ANY, client) and self.topic in (ANY, topic)


class Agent(Frozen):
    id: AgentId
    name: str = Field(min_length=1, description="Anzeigename, z. B. Anna Schmidt")
    skills: tuple[Skill, ...] = Field(min_length=1, description="Was der Agent annimmt")
    password_file: str | None = Field(
        default=None,
        description="Datei mit dem SIP-Passwort, relativ zur Agentendatei; sonst Umgebung",
    )

    @property
    def password_env(self) -> str:
        """The environment variable that holds this agent's SIP password."""
        return f"STADTRUF_AGENT_{self.id.upper().replace('-', '_')}_PASSWORD"

    def level_for(self, client: str, topic: str) -> int | None:
        """The best (lowest) level of a skill matching the call; None: not this agent's call."""
        levels = [s.level for s in self.skills if s.matches(client, topic)]
        return min(levels) if levels else None


# --- Overflow: what happens when a caller has waited max_wait --------------------------------


class OverflowQueue(Frozen):
    queue: Identifier = Field(description="Weiter in die Warteschlange dieses Themas")


class OverflowTransfer(Frozen):
    transfer: TransferTarget = Field(description="Weiterleiten an Rufnummer oder Endpunkt")


class OverflowCallback(Frozen):
    callback: bool = Field(description="Rückruf anbieten (Nummer aufnehmen): true")

    @model_validator(mode="after")
    def _only_true(self) -> OverflowCallback:
        if not self.callback:
            raise ValueError("callback: false ist kein overflow; dann overflow weglassen")
        return self


class OverflowAnnounce(Frozen):
    announce: Prompt = Field(description="Ansage, danach wird aufgelegt")


class OverflowVoicemail(Frozen):
    """The caller leaves a message; it lands in the callback list with the recording."""

    voicemail: bool = Field(description="Nachricht aufnehmen lassen: true")
    max_length: float = Field(
        default=120, ge=5, le=600, description="Längste Nachricht in Sekunden"
    )

    @model_validator(mode="after")
    def _only_true(self) -> OverflowVoicemail:
        if not self.voicemail:
            raise ValueError("voicemail: false ist kein overflow; dann overflow weglassen")
        return self


OverflowAction = (
    OverflowQueue | OverflowTransfer | OverflowCallback | OverflowAnnounce | OverflowVoicemail
)
_OVERFLOW_KEYS = ("queue", "transfer", "callback", "announce", "voicemail")
_OVERFLOW_HELP = "erwartet eines von queue, transfer, callback: true, announce, voicemail: true"
_TAG = "overflow:"  # prefix keeps union tags apart from real keys in error locations


def _overflow_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((_TAG + key for key in _OVERFLOW_KEYS if key in value), None)
    if isinstance(value, BaseModel):
        return _TAG + next(iter(type(value).model_fields))
    return None


OverflowField = Annotated[
    Annotated[OverflowQueue, Tag(_TAG + "queue")]
    | Annotated[OverflowTransfer, Tag(_TAG + "transfer")]
    | Annotated[OverflowCallback, Tag(_TAG + "callback")]
    | Annotated[OverflowAnnounce, Tag(_TAG + "announce")]
    | Annotated[OverflowVoicemail, Tag(_TAG + "voicemail")],
    Discriminator(_overflow_tag, custom_error_type="overflow", custom_error_message=_OVERFLOW_HELP),
]


class PriorityRule(Frozen):
    """Callers matching `client` and/or `dialled` get `priority` (higher is served first)."""

    client: Identifier | None = Field(default=None, description="Kunde")
    dialled: DialledKind | None = Field(
        default=None, description="switchboard (Zentrale) oder service_number (115)"
    )
    priority: int = Field(ge=-100, le=100, description="Höher wird zuerst bedient")

    @model_validator(mode="after")
    def _says_who(self) -> PriorityRule:
        if self.client is None and self.dialled is None:
            raise ValueError("Regel braucht client und/oder dialled")
        return self

    def matches(self, client: str, dialled: DialledKind | None) -> bool:
        return self.client in (None, client) and self.dialled in (None, dialled)


class QueueSettings(Frozen):
    """Settings of one queue; an absent value is taken from `defaults`, then from `BUILTIN`."""

    strategy: Strategy | None = Field(
        default=None, description="longest_idle, round_robin oder fewest_calls"
    )
    ring_timeout: Annotated[float, Field(gt=0, le=300)] | None = Field(
        default=None, description="Sekunden, die ein Agent klingelt"
    )
    retry: Annotated[float, Field(ge=0, le=300)] | None = Field(
        default=None, description="Sekunden Pause für einen Agenten, der nicht angenommen hat"
    )
    wrapup: Annotated[float, Field(ge=0, le=3600)] | None = Field(
        default=None, description="Nachbearbeitungszeit in Sekunden nach jedem Gespräch"
    )
    autopause_after: Annotated[int, Field(ge=0, le=100)] | None = Field(
        default=None, description="Nach so vielen verpassten Anrufen in Folge pausieren; 0 = nie"
    )
    max_wait: Annotated[float, Field(ge=0, le=7200)] | None = Field(
        default=None, description="Höchste Wartezeit in Sekunden, dann overflow; 0 = unbegrenzt"
    )
    overflow: OverflowField | None = Field(
        default=None, description="Was nach max_wait (oder bei leerer Schlange) geschieht"
    )
    join_empty: bool | None = Field(
        default=None,
        description="Anstellen, auch wenn kein Agent dafür angemeldet ist; false: gleich overflow",
    )
    leave_when_empty: bool | None = Field(
        default=None,
        description="Wartende gehen in den overflow, sobald kein Agent mehr dafür angemeldet ist",
    )
    announce_every: Annotated[float, Field(ge=0, le=3600)] | None = Field(
        default=None, description="Alle so viele Sekunden Position und Wartezeit ansagen; 0 = nie"
    )
    priorities: tuple[PriorityRule, ...] | None = Field(
        default=None, description="Vorrang nach Kunde/gewählter Nummer; die erste passende gilt"
    )


@dataclass(frozen=True)
class QueueRules:
    """The settings of one queue with every default filled in (what the queue engine reads)."""

    strategy: Strategy = "longest_idle"
    ring_timeout: float = 15.0
    retry: float = 5.0
    wrapup: float = 10.0
    autopause_after: int = 3
    max_wait: float = 0.0  # 0: wait until answered or hung up, as app_queue without timeout
    overflow: OverflowAction | None = None
    # app_queue's joinempty / leavewhenempty. "Empty": no agent with a matching skill is
    # logged in with a registered phone (paused agents count: they come back).
    join_empty: bool = True
    leave_when_empty: bool = False
    announce_every: float = 60.0
    priorities: tuple[PriorityRule, ...] = ()

    def priority_for(self, client: str, dialled: DialledKind | None) -> int:
        """The first matching rule's priority; 0 when none matches."""
        return next((r.priority for r in self.priorities if r.matches(client, dialled)), 0)


BUILTIN = QueueRules()


class AgentsConfig(Frozen):
    """The agents file, validated; built by `load_agents` (or directly in tests)."""

    defaults: QueueSettings = QueueSettings()
    queues: Annotated[dict[Identifier, QueueSettings], AfterValidator(_freeze)] = Field(
        default_factory=FrozenMap, description="Einstellungen je Thema"
    )
    agents: tuple[Agent, ...] = Field(default=(), description="Die Agenten")

    _source: Source | None = PrivateAttr(default=None)
    # Looked up on every queue event; the model is immutable, so computed once per instance.
    _by_id: Mapping[str, Agent] = PrivateAttr(default_factory=FrozenMap)
    _rules: dict[str, QueueRules] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        self._by_id = FrozenMap({a.id: a for a in self.agents})

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Any:
        # Pydantic copies private attributes as they are: the copy would share our caches,
        # and answer with our rules and agents instead of its own.
        copy = super().model_copy(update=update, deep=deep)
        copy._rules = {}
        copy._by_id = FrozenMap({a.id: a for a in copy.agents})
        return copy

    @property
    def by_id(self) -> Mapping[str, Agent]:
        return self._by_id

    def rules(self, topic: str) -> QueueRules:
        """The settings of queue `topic`: its own, else `defaults`, else `BUILTIN`."""
        if topic not in self._rules:
            self._rules[topic] = _rules(self, topic)
        return self._rules[topic]

    def priority_for(self, topic: str, client: str, dialled: DialledKind | None) -> int:
        return self.rules(topic).priority_for(client, dialled)


def _rules(config: AgentsConfig, topic: str) -> QueueRules:
    layers = (config.queues.get(topic, QueueSettings()), config.defaults)
    values: dict[str, Any] = {}
    for name in QueueSettings.model_fields:
        for layer in layers:
            value = getattr(layer, name)
            if value is not None:
                values[name] = value
                break
    return QueueRules(**values)


def resolve_password(
    agent: Agent, environ: Mapping[str, str], base_dir: Path | None = None
) -> str | None:
    """The agent's SIP password: `password_file` if named, else the environment; None if unset.

    Reads a file, so this belongs to the shell; it lives here to keep the naming rule in one
    place. Trailing newlines (as editors write them) are not part of the password.
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


# --- Loading ---------------------------------------------------------------------------------


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


def _problem(source: Source, error: Any) -> Problem:
    loc = [item for item in error["loc"] if not str(item).startswith(_TAG)]
    error = {**error, "loc": tuple(loc)}
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
        return source.problem(loc, f"{where}: {_OVERFLOW_HELP}")
    return _config_problem(source, error)


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
        rules = _rules(config, topic)
        loc: tuple[str | int, ...] = ("defaults",) if topic == "*defaults*" else ("queues", topic)
        if rules.max_wait > 0 and rules.overflow is None:
            yield source.problem(loc, "max_wait braucht overflow (was danach geschieht)")
        if rules.overflow is None and (not rules.join_empty or rules.leave_when_empty):
            setting = "join_empty: false" if not rules.join_empty else "leave_when_empty: true"
            yield source.problem(loc, f"{setting} braucht overflow (wohin die Anrufer gehen)")
    for topic in config.queues:
        seen = [topic]
        rules = _rules(config, topic)
        while _overflows(rules) and isinstance(rules.overflow, OverflowQueue):
            target = rules.overflow.queue
            if target in seen:
                chain = " → ".join([*seen, target])
                yield source.problem(("queues", topic), f"overflow im Kreis: {chain}")
                break
            seen.append(target)
            rules = _rules(config, target)


def _overflows(rules: QueueRules) -> bool:
    """Whether the queue can send callers to its overflow at all."""
    return rules.max_wait > 0 or not rules.join_empty or rules.leave_when_empty


def check_agents(agents: AgentsConfig, center: ServiceCenterConfig) -> list[Problem]:
    """References from the agents file into the service center: topics and clients exist, and
    every topic a menu queues to has at least one agent with a matching skill."""
    source = agents._source
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


__all__ = [
    "ANY",
    "BUILTIN",
    "Agent",
    "AgentsConfig",
    "DialledKind",
    "OverflowAction",
    "OverflowAnnounce",
    "OverflowCallback",
    "OverflowQueue",
    "OverflowTransfer",
    "OverflowVoicemail",
    "PriorityRule",
    "QueueRules",
    "QueueSettings",
    "Skill",
    "Strategy",
    "check_agents",
    "load_agents",
    "resolve_password",
]
