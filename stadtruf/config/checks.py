"""Rules that need more than one file or the whole menu tree.

Runs on models that already passed their own file's validation, before defaults are filled in,
so that every problem points at the line the admin wrote (not at a copied default).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from stadtruf.config.capacity import check_capacity
from stadtruf.config.checks_hours import check_hours
from stadtruf.config.knowledge import check_knowledge
from stadtruf.config.model import (
    ASK,
    Action,
    AnnounceAction,
    BackAction,
    Client,
    ClientAction,
    HangupAction,
    LanguageAction,
    MenuDefaults,
    MenuNode,
    MenuTree,
    QueueAction,
    RepeatAction,
    ServiceCenter,
    SubmenuAction,
    TransferAction,
    walk_prompts,
)
from stadtruf.config.problems import Problem
from stadtruf.config.yamlsource import Source
from stadtruf.core.numbers import PREMIUM_PREFIXES, carrier_forms, is_premium

Loc = tuple[str | int, ...]
# Sound formats Asterisk plays without transcoding trouble; it picks one by itself.
SOUND_EXTENSIONS = (".wav", ".WAV", ".gsm", ".ulaw", ".alaw", ".sln", ".sln16", ".g722", ".mp3")


@dataclass(frozen=True)
class _TreeContext:
    """What a menu tree may refer to."""

    source: Source
    prefix: Loc  # where the tree sits in its file
    topics: frozenset[str]
    languages: tuple[str, ...]
    clients: frozenset[str] | None  # client ids for `client:` actions; None = not allowed here
    defaults: tuple[MenuDefaults, ...]  # outer layers, innermost first


def check(
    directory: Path,
    center_src: Source,
    center: ServiceCenter,
    clients: Sequence[tuple[Source, Client]],
) -> list[Problem]:
    problems: list[Problem] = []
    problems += _unique_ids(clients)
    problems += _numbers(center_src, center, clients)
    problems += _area_codes(center_src, center, clients)
    problems += check_capacity(center_src, center.capacity)

    ids = frozenset(c.id for _, c in clients)
    topics = frozenset(center.topics)
    unknown = center.unknown_caller
    if unknown.default_client is not None and unknown.default_client not in ids:
        problems.append(
            center_src.problem(
                ("unknown_caller", "default_client"),
                f"Kunde '{unknown.default_client}' gibt es nicht ({_listing(ids)})",
            )
        )
    problems += _center_defaults(center_src, center)
    all_languages = tuple(sorted({lang for _, c in clients for lang in c.languages}))
    if unknown.town_menu is not None:
        context = _TreeContext(
            center_src,
            ("unknown_caller", "town_menu"),
            topics,
            (center.default_language, *all_languages),
            ids,
            (center.menu_defaults,),
        )
        problems += _tree(context, unknown.town_menu)
    for src, client in clients:
        context = _TreeContext(
            src,
            ("menu",),
            topics,
            client.languages,
            None,
            (client.menu_defaults, center.menu_defaults),
        )
        default = client.menu_defaults.default
        if default is not None:
            problems += _action(context, client.menu, ("menu_defaults", "default"), default)
        problems += _tree(context, client.menu)
        problems += _prompts(src, client, client.languages)

    problems += _prompts(center_src, center, (center.default_language, *all_languages))
    problems += _sounds(directory, center_src, center, clients)
    # Opening hours (issue 10): their own module, checks_hours.py.
    problems += check_hours(center_src, center, clients)
    for src, client in clients:
        problems += check_knowledge(src, client.knowledge, center.topics)
    return problems


# --- Clients and numbers ------------------------------------------------------------------


def _unique_ids(clients: Sequence[tuple[Source, Client]]) -> Iterator[Problem]:
    first: dict[str, Source] = {}
    for src, client in clients:
        if client.id in first:
            yield src.problem(
                ("id",), f"Kunde '{client.id}' gibt es schon in {first[client.id].path}"
            )
        else:
            first[client.id] = src


def _numbers(
    center_src: Source, center: ServiceCenter, clients: Sequence[tuple[Source, Client]]
) -> Iterator[Problem]:
    # Every form a carrier may send (carrier_forms) → (number, who has it, where): the first
    # claim wins, later ones are the problem. By form, not number: the dialplan lists every
    # form, so `492041700` (a service number) and `02041700` (a switchboard) would collide.
    claimed: dict[str, tuple[str, str, Problem]] = {}
    entries = [
        (center_src, ("service_numbers", i), number, "Servicenummer")
        for i, number in enumerate(center.service_numbers)
    ]
    entries += [
        (src, ("switchboard_numbers", i), number, f"Kunde {client.id}")
        for src, client in clients
        for i, number in enumerate(client.switchboard_numbers)
    ]
    for src, here, number, owner in entries:
        clash = next((claimed[f] for f in carrier_forms(number) if f in claimed), None)
        if clash is not None:
            other, other_owner, there = clash
            same = "" if other == number else f" als {other}"
            yield src.problem(
                here,
                f"Rufnummer {number} ist schon vergeben{same} "
                f"({other_owner}, {there.file}:{there.line})",
            )
            continue
        where = src.problem(here, "")
        for form in carrier_forms(number):
            claimed[form] = (number, owner, where)
    for i, number in enumerate(center.office_numbers):
        if is_premium(number):
            yield center_src.problem(("office_numbers", i), premium_target(number))


def premium_target(number: str) -> str:
    """What is wrong with a premium-rate number as a transfer target or office number."""
    return (
        f"{number} ist eine Sonderrufnummer mit erhöhten Kosten ({', '.join(PREMIUM_PREFIXES)}): "
        "als Ziel nicht erlaubt (Gebührenbetrug)"
    )


def _area_codes(
    center_src: Source, center: ServiceCenter, clients: Sequence[tuple[Source, Client]]
) -> Iterator[Problem]:
    claims: dict[str, list[tuple[Source, Client, int]]] = {}
    for src, client in clients:
        for i, code in enumerate(client.area_codes):
            claims.setdefault(code, []).append((src, client, i))
    for code, owners in claims.items():
        if len(owners) > 1 and code not in center.area_code_tie_breaks:
            names = ", ".join(c.id for _, c, _ in owners)
            for src, _, i in owners[1:]:
                yield src.problem(
                    ("area_codes", i),
                    f"Vorwahl {code} beanspruchen mehrere Kunden ({names}) ohne Entscheidung: "
                    f"in service-center.yaml unter area_code_tie_breaks '{code}: <kunde>' "
                    f"oder '{code}: ask' eintragen",
                )
    for code, winner in center.area_code_tie_breaks.items():
        loc = ("area_code_tie_breaks", code)
        owners_ids = [c.id for _, c, _ in claims.get(code, [])]
        if winner != ASK and winner not in owners_ids:
            yield center_src.problem(
                loc,
                f"Kunde '{winner}' beansprucht Vorwahl {code} nicht "
                f"(beansprucht von: {', '.join(owners_ids) or 'niemandem'}; oder 'ask')",
            )
        if winner == ASK and center.unknown_caller.town_menu is None:
            yield center_src.problem(loc, "'ask' braucht unknown_caller.town_menu")


# --- Menus ----------------------------------------------------------------------------------


def _center_defaults(center_src: Source, center: ServiceCenter) -> Iterator[Problem]:
    default = center.menu_defaults.default
    if default is not None and not isinstance(
        default, QueueAction | TransferAction | AnnounceAction | HangupAction
    ):
        yield center_src.problem(
            ("menu_defaults", "default"),
            "gemeinsamer default muss queue, transfer, announce oder hangup sein "
            "(Menünamen gibt es nur je Kunde)",
        )
    else:
        topic = getattr(default, "queue", None) or getattr(default, "topic", None)
        if topic is not None and topic not in center.topics:
            yield center_src.problem(
                ("menu_defaults", "default"),
                f"Thema '{topic}' gibt es nicht unter topics ({_listing(center.topics)})",
            )
        if isinstance(default, TransferAction) and is_premium(default.transfer):
            yield center_src.problem(
                ("menu_defaults", "default", "transfer"), premium_target(default.transfer)
            )


def _tree(ctx: _TreeContext, tree: MenuTree) -> Iterator[Problem]:
    menus_loc = (*ctx.prefix, "menus")
    if tree.start not in tree.menus:
        yield ctx.source.problem(
            (*ctx.prefix, "start"),
            f"Startmenü '{tree.start}' gibt es nicht ({_listing(tree.menus)})",
        )
        return
    for menu_id, node in tree.menus.items():
        loc = (*menus_loc, menu_id)
        for digit, action in node.options.items():
            yield from _action(ctx, tree, (*loc, "options", digit), action)
        if node.default is not None:
            yield from _action(ctx, tree, (*loc, "default"), node.default)
            if isinstance(node.default, BackAction | RepeatAction):
                yield ctx.source.problem(
                    (*loc, "default"),
                    "back und repeat taugen nicht als default: der Anrufer käme nie an",
                )
        elif _effective_default(ctx, node) is None:
            yield ctx.source.problem(
                loc,
                f"Menü '{menu_id}' hat keinen Ausweg: 'default' fehlt (weder hier noch in "
                "menu_defaults); wer nichts drückt, muss irgendwo ankommen",
                key=True,
            )

    reachable = _reachable(tree)
    for menu_id in tree.menus:
        if menu_id not in reachable:
            yield ctx.source.problem(
                (*menus_loc, menu_id),
                f"Menü '{menu_id}' ist nicht erreichbar (von '{tree.start}' aus führt keine "
                "Taste dorthin)",
                key=True,
            )
    yield from _silent_loops(ctx, tree)


def _action(ctx: _TreeContext, tree: MenuTree, loc: Loc, action: Action) -> Iterator[Problem]:
    match action:
        case SubmenuAction(submenu=target) | LanguageAction(submenu=target):
            if target not in tree.menus:
                yield ctx.source.problem(
                    (*loc, "submenu"), f"Menü '{target}' gibt es nicht ({_listing(tree.menus)})"
                )
            if isinstance(action, LanguageAction) and action.language not in ctx.languages:
                yield ctx.source.problem(
                    (*loc, "language"),
                    f"Sprache '{action.language}' fehlt unter languages "
                    f"({', '.join(ctx.languages)})",
                )
        case QueueAction(queue=topic) | TransferAction(topic=topic) | AnnounceAction(topic=topic):
            if topic is not None and topic not in ctx.topics:
                key = "queue" if isinstance(action, QueueAction) else "topic"
                yield ctx.source.problem(
                    (*loc, key),
                    f"Thema '{topic}' gibt es nicht unter topics in service-center.yaml "
                    f"({_listing(ctx.topics)})",
                )
        case ClientAction(client=client_id):
            if ctx.clients is None:
                yield ctx.source.problem(
                    (*loc, "client"), "client: ist nur im Stadtauswahl-Menü (town_menu) erlaubt"
                )
            elif client_id not in ctx.clients:
                yield ctx.source.problem(
                    (*loc, "client"), f"Kunde '{client_id}' gibt es nicht ({_listing(ctx.clients)})"
                )

    if isinstance(action, TransferAction) and is_premium(action.transfer):
        yield ctx.source.problem((*loc, "transfer"), premium_target(action.transfer))


def _effective_default(ctx: _TreeContext, node: MenuNode) -> Action | None:
    for layer in (node, *ctx.defaults):
        if layer.default is not None:
            return layer.default
    return None


def _targets(node: MenuNode) -> Iterator[str]:
    for action in (*node.options.values(), node.default):
        if isinstance(action, SubmenuAction | LanguageAction):
            yield action.submenu


def _reachable(tree: MenuTree) -> set[str]:
    seen = {tree.start}
    todo = [tree.start]
    while todo:
        for target in _targets(tree.menus[todo.pop()]):
            if target in tree.menus and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


def _silent_loops(ctx: _TreeContext, tree: MenuTree) -> Iterator[Problem]:
    """Menus whose defaults lead round in a circle: a silent caller would never arrive.

    Following the defaults is what happens when the caller presses nothing; every such walk
    must end in a route (queue, transfer, announce, hangup, client).
    """
    reported: set[frozenset[str]] = set()
    for first in tree.menus:
        path = [first]
        while True:
            node = tree.menus[path[-1]]
            action = _effective_default(ctx, node)
            if not isinstance(action, SubmenuAction | LanguageAction):
                break
            if action.submenu not in tree.menus:
                break
            if action.submenu in path:
                cycle = path[path.index(action.submenu) :]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    where = min(cycle)
                    yield ctx.source.problem(
                        (*ctx.prefix, "menus", where, "default"),
                        "Menüs kreisen ohne Ausweg: "
                        + " → ".join([*cycle, cycle[0]])
                        + "; wer nichts drückt, kommt nie an. Mindestens eines braucht als "
                        "default queue, transfer, announce oder hangup",
                    )
                break
            path.append(action.submenu)


# --- Prompts --------------------------------------------------------------------------------


def _prompts(src: Source, model: BaseModel, languages: tuple[str, ...]) -> Iterator[Problem]:
    for loc, prompt in walk_prompts(model):
        if isinstance(prompt.text, dict):
            for lang in prompt.text:
                if lang not in languages:
                    yield src.problem(
                        (*loc, "text", lang),
                        f"Text in Sprache '{lang}', die hier nicht vorkommt "
                        f"({', '.join(languages)})",
                        key=True,
                    )


def _sounds(
    directory: Path,
    center_src: Source,
    center: ServiceCenter,
    clients: Sequence[tuple[Source, Client]],
) -> Iterator[Problem]:
    sources: list[tuple[Source, BaseModel, tuple[str, ...]]] = [
        (center_src, center, (center.default_language,))
    ]
    sources += [(src, client, client.languages) for src, client in clients]
    uses = [
        (src, loc, prompt.sound, languages)
        for src, model, languages in sources
        for loc, prompt in walk_prompts(model)
        if prompt.sound is not None
    ]
    if center.sounds_dir is None:
        if uses:
            src, loc, _, _ = uses[0]
            yield src.problem(
                (*loc, "sound"),
                "Ansagedatei angegeben, aber kein sounds_dir in service-center.yaml",
            )
        return
    root = directory / center.sounds_dir
    if not root.is_dir():
        yield center_src.problem(("sounds_dir",), f"Verzeichnis {root} gibt es nicht")
        return
    for src, loc, sound, languages in uses:
        candidates = [root / sound, *(root / lang / sound for lang in languages)]
        if not any(_sound_exists(c) for c in candidates):
            yield src.problem(
                (*loc, "sound"),
                f"Ansagedatei '{sound}' fehlt (gesucht: {candidates[0]}.wav, .gsm, … "
                f"auch unter {root}/<sprache>/)",
            )


def _sound_exists(stem: Path) -> bool:
    return any(stem.with_name(stem.name + ext).is_file() for ext in SOUND_EXTENSIONS)


# --- Helpers --------------------------------------------------------------------------------


def _listing(names: object) -> str:
    items = sorted(names)  # type: ignore[call-overload]
    return "vorhanden: " + ", ".join(items) if items else "keine vorhanden"
