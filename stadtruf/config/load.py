"""Load a config directory: a complete, immutable `ServiceCenterConfig` or a `ConfigError`.

Never half a config: every file is read and validated, every cross-file rule checked, and only
when no problem is left is the result built. That lets a hot reload keep the running config
when the admin's edit is broken.

Layout of a config directory::

    service-center.yaml     shared settings (ServiceCenter)
    <client>.yaml           one file per client (Client); any other *.yaml / *.yml beside it
    sounds/ (optional)      sound files, if service-center.yaml names it as sounds_dir
"""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from stadtruf.config import checks
from stadtruf.config.model import (
    BUILTIN_RETRIES,
    BUILTIN_TIMEOUT,
    Client,
    FrozenMap,
    MenuDefaults,
    MenuTree,
    Prompt,
    ServiceCenter,
    Topic,
    TransferAction,
    walk,
    walk_prompts,
)
from stadtruf.config.problems import ConfigError, Problem
from stadtruf.config.yamlsource import Source, read

SERVICE_CENTER_FILE = "service-center.yaml"

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class ServiceCenterConfig:
    """Everything one service center needs, validated; built only by `load`."""

    directory: Path
    service_center: ServiceCenter
    clients: Mapping[str, Client]
    # Derived look-up tables for origin resolution (national number → client id(s)).
    switchboards: Mapping[str, str] = field(default_factory=FrozenMap)
    area_codes: Mapping[str, tuple[str, ...]] = field(default_factory=FrozenMap)
    files: Mapping[str, Path] = field(default_factory=FrozenMap)

    @property
    def routed_numbers(self) -> tuple[str, ...]:
        """Every number (national form) that must reach the app: the service numbers (115, …)
        and every client's switchboard numbers. The one source for the rendered dialplan."""
        return tuple(dict.fromkeys((*self.service_center.service_numbers, *self.switchboards)))

    def transfer_targets(self) -> tuple[str, ...]:
        """Every number a menu may transfer a caller to (endpoints such as PJSIP/wbd aside)."""
        owners = (self.service_center, *self.clients.values())
        targets = (action.transfer for owner in owners for _, action in walk(owner, TransferAction))
        return tuple(sorted({t for t in targets if "/" not in t}))

    def topic(self, topic_id: str) -> Topic | None:
        return self.service_center.topics.get(topic_id)

    def all_prompts(self) -> Iterator[tuple[str, Prompt]]:
        """(default language of its owner, prompt) for every prompt, e.g. to render texts."""
        center = self.service_center
        for _, prompt in walk_prompts(center):
            yield center.default_language, prompt
        for client in self.clients.values():
            for _, prompt in walk_prompts(client):
                yield client.language, prompt


def load(directory: Path) -> ServiceCenterConfig:
    """Read and check `directory`; raise `ConfigError` listing every problem found."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ConfigError([Problem(directory, 1, 1, "Verzeichnis nicht gefunden")])
    problems: list[Problem] = []

    center_path = directory / SERVICE_CENTER_FILE
    center: tuple[Source, ServiceCenter] | None = None
    if center_path.is_file():
        center = _parse(center_path, ServiceCenter, problems)
    else:
        problems.append(Problem(center_path, 1, 1, "Datei fehlt (gemeinsame Einstellungen)"))

    clients: list[tuple[Source, Client]] = []
    client_paths = sorted(
        p
        for p in directory.iterdir()
        if p.is_file() and p.suffix in (".yaml", ".yml") and p.name != SERVICE_CENTER_FILE
    )
    for path in client_paths:
        parsed = _parse(path, Client, problems)
        if parsed:
            clients.append(parsed)
    if not client_paths:
        problems.append(Problem(directory, 1, 1, "keine Kundendatei (*.yaml) gefunden"))

    if center is None or problems:
        # Cross-file rules on top of broken files only produce follow-on noise.
        raise ConfigError(problems)

    center_src, center_model = center
    problems += checks.check(directory, center_src, center_model, clients)
    if problems:
        raise ConfigError(problems)

    resolved = [(src, _resolve_menus(client, center_model)) for src, client in clients]
    town_menu = center_model.unknown_caller.town_menu
    if town_menu is not None:
        unknown = center_model.unknown_caller.model_copy(
            update={"town_menu": _resolve_tree(town_menu, (center_model.menu_defaults,))}
        )
        center_model = center_model.model_copy(update={"unknown_caller": unknown})

    return ServiceCenterConfig(
        directory=directory,
        service_center=center_model,
        clients=FrozenMap({c.id: c for _, c in resolved}),
        switchboards=FrozenMap({n: c.id for _, c in resolved for n in c.switchboard_numbers}),
        area_codes=FrozenMap(_area_code_table(c for _, c in resolved)),
        files=FrozenMap({c.id: src.path for src, c in resolved}),
    )


def _area_code_table(clients: Iterable[Client]) -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for client in clients:
        for code in client.area_codes:
            table[code] = (*table.get(code, ()), client.id)
    return table


def _parse(path: Path, model: type[M], problems: list[Problem]) -> tuple[Source, M] | None:
    source, read_problems = read(path)
    problems += read_problems
    if source is None or read_problems:
        return None
    if not isinstance(source.data, dict):
        problems.append(source.problem((), "erwartet Schlüssel: Wert-Paare auf oberster Ebene"))
        return None
    try:
        return source, model.model_validate(source.data)
    except ValidationError as exc:
        problems += [validation_problem(source, error) for error in exc.errors()]
        return None


# --- Pydantic's English errors, told again for the admin --------------------------------------


@functools.cache
def _known_keys() -> set[str]:
    """Every key any config model accepts, for 'did you mean' hints."""
    seen: set[type[BaseModel]] = set()
    keys: set[str] = set()
    todo: list[type[BaseModel]] = [ServiceCenter, Client]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            keys.add(name)
            todo += _models_in(info.annotation)
    return keys


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def validation_problem(source: Source, error: ErrorDetails) -> Problem:
    """One of pydantic's errors as the admin reads it (German), at its place in the file."""
    loc = [item for item in error["loc"] if not str(item).startswith("action:")]
    kind = error["type"]
    where = ".".join(str(item) for item in loc if item != "[key]")
    ctx = error.get("ctx", {})
    value = error.get("input")
    last = loc[-1] if loc else ""
    if kind == "extra_forbidden":
        hint = difflib.get_close_matches(str(last), _known_keys(), n=1)
        message = f"unbekannter Schlüssel '{last}'" + (
            f" (meinten Sie '{hint[0]}'?)" if hint else ""
        )
        return source.problem(loc, message, key=True)
    if kind == "missing":
        parent = ".".join(str(item) for item in loc[:-1])
        return source.problem(loc[:-1], f"{parent + ': ' if parent else ''}'{last}' fehlt")
    if last == "[key]" and kind == "literal_error":
        key = loc[-2]
        message = f"{where}: Taste '{key}' gibt es nicht; erlaubt sind 0–9, * und #"
        return source.problem(loc[:-1], message, key=True)
    messages = {
        "value_error": lambda: str(ctx.get("error", error["msg"])),
        "action": lambda: error["msg"],
        "literal_error": lambda: f"'{value}' ist nicht erlaubt; erlaubt: {ctx.get('expected')}",
        "string_pattern_mismatch": lambda: f"'{value}' hat nicht die Form {ctx.get('pattern')}",
        "int_parsing": lambda: f"'{value}' ist keine ganze Zahl",
        "float_parsing": lambda: f"'{value}' ist keine Zahl",
        "bool_parsing": lambda: f"'{value}' ist weder true noch false",
        "greater_than": lambda: f"muss größer als {_num(ctx.get('gt'))} sein",
        "greater_than_equal": lambda: f"muss mindestens {_num(ctx.get('ge'))} sein",
        "less_than_equal": lambda: f"darf höchstens {_num(ctx.get('le'))} sein",
        "string_type": lambda: "erwartet einen Text",
        "string_too_short": lambda: "darf nicht leer sein",
        "string_too_long": lambda: f"zu lang, höchstens {ctx.get('max_length')} Zeichen",
        "too_short": lambda: "darf nicht leer sein",
        "dict_type": lambda: "erwartet Schlüssel: Wert-Paare",
        "model_type": lambda: "erwartet Schlüssel: Wert-Paare",
        "model_attributes_type": lambda: "erwartet Schlüssel: Wert-Paare",
        "list_type": lambda: "erwartet eine Liste (- eintrag)",
        "tuple_type": lambda: "erwartet eine Liste (- eintrag)",
    }
    text = messages.get(kind, lambda: error["msg"])()
    # A bad key (e.g. a weekday under hours.weekly) is marked at the key, not at its value.
    return source.problem(loc, f"{where}: {text}" if where else text, key=last == "[key]")


def _num(value: object) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# --- Defaults filled in once, so the menu engine never looks them up ----------------------------


def _resolve_menus(client: Client, center: ServiceCenter) -> Client:
    tree = _resolve_tree(client.menu, (client.menu_defaults, center.menu_defaults))
    return client.model_copy(update={"menu": tree})


def _resolve_tree(tree: MenuTree, layers: tuple[MenuDefaults, ...]) -> MenuTree:
    def pick(node: MenuDefaults, name: str, builtin: Any = None) -> Any:
        for layer in (node, *layers):
            value = getattr(layer, name)
            if value is not None:
                return value
        return builtin

    menus = {
        menu_id: node.model_copy(
            update={
                "timeout": pick(node, "timeout", BUILTIN_TIMEOUT),
                "retries": pick(node, "retries", BUILTIN_RETRIES),
                "invalid_prompt": pick(node, "invalid_prompt"),
                "timeout_prompt": pick(node, "timeout_prompt"),
                "default": pick(node, "default"),
            }
        )
        for menu_id, node in tree.menus.items()
    }
    return tree.model_copy(update={"menus": FrozenMap(menus)})
