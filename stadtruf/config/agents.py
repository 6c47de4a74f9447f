"""Agents and queue settings in YAML: who may take which calls, and how each queue behaves.

One file (see `config/agents/agents.yaml`) holds

- `agents`: the people on the phones. `id` is also the PJSIP endpoint the queue rings
  (`agent-101`); `skills` say which client/topic pairs the agent takes, each with a `level`
  1–10 that works like app_queue's penalty: lower is preferred, `"*"` matches any.
- `defaults` and `queues`: per queue (topic) settings; a queue's value wins over `defaults`,
  `defaults` over the built-in values in `BUILTIN`.

No secrets live here: an agent's SIP password comes from the environment variable
`STADTRUF_AGENT_<ID>_PASSWORD` (`agent-101` → `STADTRUF_AGENT_AGENT_101_PASSWORD`) or from the
file named by `password_file` (relative to the agents file). The model only names the place
(`stadtruf.config.passwords` reads it).

This module is the file's shape; `stadtruf.config.agents_load` reads and checks it, and
`stadtruf.config.site.load_site` loads it together with the clients' config.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    Field,
    PrivateAttr,
    Tag,
    model_validator,
)

from stadtruf.config.model import (
    Frozen,
    FrozenMap,
    Identifier,
    Prompt,
    TransferTarget,
    _checked,
    _freeze,
)
from stadtruf.config.yamlsource import Source

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
OVERFLOW_HELP = "erwartet eines von queue, transfer, callback: true, announce, voicemail: true"
OVERFLOW_TAG = "overflow:"  # prefix keeps union tags apart from real keys in error locations


def _overflow_tag(value: Any) -> str | None:
    if isinstance(value, dict):
        return next((OVERFLOW_TAG + key for key in _OVERFLOW_KEYS if key in value), None)
    if isinstance(value, BaseModel):
        return OVERFLOW_TAG + next(iter(type(value).model_fields))
    return None


OverflowField = Annotated[
    Annotated[OverflowQueue, Tag(OVERFLOW_TAG + "queue")]
    | Annotated[OverflowTransfer, Tag(OVERFLOW_TAG + "transfer")]
    | Annotated[OverflowCallback, Tag(OVERFLOW_TAG + "callback")]
    | Annotated[OverflowAnnounce, Tag(OVERFLOW_TAG + "announce")]
    | Annotated[OverflowVoicemail, Tag(OVERFLOW_TAG + "voicemail")],
    Discriminator(_overflow_tag, custom_error_type="overflow", custom_error_message=OVERFLOW_HELP),
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
    """The agents file, validated; built by `agents_load.load_agents` (or directly in tests)."""

    defaults: QueueSettings = QueueSettings()
    queues: Annotated[Mapping[Identifier, QueueSettings], AfterValidator(_freeze)] = Field(
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
    def source(self) -> Source | None:
        """The file it was loaded from, to point problems at; None when built in code."""
        return self._source

    @property
    def by_id(self) -> Mapping[str, Agent]:
        return self._by_id

    def rules(self, topic: str) -> QueueRules:
        """The settings of queue `topic`: its own, else `defaults`, else `BUILTIN`."""
        if topic not in self._rules:
            self._rules[topic] = layered_rules(self, topic)
        return self._rules[topic]

    def priority_for(self, topic: str, client: str, dialled: DialledKind | None) -> int:
        return self.rules(topic).priority_for(client, dialled)


def layered_rules(config: AgentsConfig, topic: str) -> QueueRules:
    """The settings of `topic` computed afresh (`AgentsConfig.rules` caches them)."""
    layers = (config.queues.get(topic, QueueSettings()), config.defaults)
    values: dict[str, Any] = {}
    for name in QueueSettings.model_fields:
        for layer in layers:
            value = getattr(layer, name)
            if value is not None:
                values[name] = value
                break
    return QueueRules(**values)


__all__ = [
    "ANY",
    "BUILTIN",
    "OVERFLOW_HELP",
    "OVERFLOW_TAG",
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
    "layered_rules",
]
