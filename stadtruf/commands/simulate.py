"""`stadtruf simulate`: walk a call through origin resolution and the menus, without a phone.

For the admin who just edited a menu: "what happens when someone from Kirchhellen dials 115 and
presses 2, then 1?" Every step is printed, then the route and how the call is marked. Keys are
pressed after each prompt (or during it, with --barge-in); when the keys run out the caller
stays silent, so the output also shows where a silent caller ends up.

Keys: 0-9 * #, separated by commas or spaces; `t` = stay silent until the timer fires,
`h` = hang up. CLIENT is a client id or `auto` (decide from --to/--from/--diversion, as the
ARI app does, and play the town menu when needed).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator
from pathlib import Path

from stadtruf.config import ConfigError, Prompt, ServiceCenterConfig, load
from stadtruf.config.model import MenuTree
from stadtruf.core.annotation import annotate
from stadtruf.core.menu import (
    Abandoned,
    AnnounceAndHangup,
    CallerHungUp,
    ClientRoute,
    DigitPressed,
    DigitTimeout,
    Effect,
    HangupRoute,
    PlayPrompt,
    PromptFinished,
    QueueRoute,
    Route,
    SetLanguage,
    StartDigitTimer,
    TransferRoute,
    start,
    step,
)
from stadtruf.core.origin import resolve

AUTO = "auto"
SILENT = "t"
HANG_UP = "h"
_MAX_STEPS = 1000  # the engine bounds itself; this only guards the printing loop
_TEXT_WIDTH = 110
_CAUSES = {
    "digit": "durch Tastendruck",
    "retries_exhausted": "Wiederholungen aufgebraucht (default)",
    "prompt_limit": "Obergrenze an Ansagen erreicht (default)",
    "caller_hung_up": "Anrufer hat aufgelegt",
    "broken_menu": "Menü ohne Ausweg",
}


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "simulate",
        help="einen Anruf ohne Telefon durch die Menüs führen",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("client", metavar="CLIENT", help="Kunden-id oder 'auto'")
    parser.add_argument("--from", dest="caller", metavar="NUMMER", help="Nummer des Anrufers")
    parser.add_argument("--to", dest="dialled", metavar="NUMMER", help="gewählte Nummer")
    parser.add_argument("--diversion", metavar="NUMMER", help="SIP Diversion (umgeleitet von)")
    parser.add_argument("--digits", default="", metavar="TASTEN", help="z. B. 2,1 oder 2,t,1")
    parser.add_argument("--config", type=Path, default=Path("config"), metavar="DIR")
    parser.add_argument("--barge-in", action="store_true", help="Tasten während der Ansage drücken")
    parser.set_defaults(func=simulate_command)


def parse_keys(text: str) -> list[str]:
    """`"2,1"`, `"2 1"`, `"21"` → `["2", "1"]`; `t` silence, `h` hang up."""
    keys: list[str] = []
    for token in re.split(r"[,\s]+", text.strip()):
        if token.lower() in (SILENT, "timeout", "-"):
            keys.append(SILENT)
        elif token.lower() in (HANG_UP, "hangup"):
            keys.append(HANG_UP)
        elif token and all(c in "0123456789*#" for c in token):
            keys.extend(token)
        elif token:
            raise ValueError(f"'{token}' ist keine Taste (0-9, *, #, t, h)")
    return keys


def simulate_command(args: argparse.Namespace) -> int:
    try:
        keys = parse_keys(args.digits)
    except ValueError as exc:
        print(f"--digits: {exc}")
        return 2
    try:
        cfg = load(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem)
        return 1

    decision = resolve(cfg, dialled=args.dialled, caller=args.caller, diversion=args.diversion)
    client_id: str | None
    if args.client == AUTO:
        print(f"Herkunft: {decision.reason} [{decision.rule}]")
        client_id = decision.client_id
    else:
        client_id = args.client
        if client_id not in cfg.clients:
            print(f"Kunde '{client_id}' gibt es nicht (vorhanden: {', '.join(cfg.clients)})")
            return 2
        if (args.dialled or args.caller or args.diversion) and decision.client_id != client_id:
            print(f"Hinweis: die Herkunftsermittlung ergäbe {decision.client_id or '?'}")
            print(f"         ({decision.reason})")

    center = cfg.service_center
    pending = iter(keys)
    language = center.default_language
    if client_id is None:
        tree = center.unknown_caller.town_menu
        assert tree is not None  # needs_town_menu implies a town menu
        print("Stadtauswahl:")
        intro = (center.greeting,) if center.greeting else ()
        route, language = _run(tree, intro, language, pending, args.barge_in, cfg)
        if not isinstance(route, ClientRoute):
            return _report(cfg, None, route, language)
        client_id = route.client_id

    client = cfg.clients[client_id]
    print(f"Kunde: {client.name} [{client.tag}]")
    intro = (client.greeting,) if client.greeting else ()
    route, language = _run(client.menu, intro, client.language, pending, args.barge_in, cfg)
    return _report(cfg, client_id, route, language)


def _run(
    tree: MenuTree,
    intro: tuple[Prompt, ...],
    language: str,
    keys: Iterator[str],
    barge_in: bool,
    cfg: ServiceCenterConfig,
) -> tuple[Route, str]:
    state, effects = start(
        tree, language=language, intro=intro, max_prompts=cfg.service_center.max_menu_prompts
    )
    for _ in range(_MAX_STEPS):
        event = None
        for effect in effects:
            if isinstance(effect, Route):
                return effect, state.language
            _show(effect)
            if isinstance(effect, PlayPrompt):
                if barge_in and effect.barge_in:
                    event = _next_event(keys, None)
                    if event is not None:
                        print("    (Taste unterbricht die Ansage)")
                event = event or PromptFinished(effect.playback_id)
            elif isinstance(effect, StartDigitTimer):
                event = _next_event(keys, DigitTimeout(effect.timer_id))
                if isinstance(event, DigitTimeout):
                    print(f"    … {effect.seconds:g} s keine Eingabe")
        if event is None:  # pragma: no cover - every non-final effect list asks for an event
            break
        if isinstance(event, DigitPressed):
            print(f"    Taste {event.digit}")
        elif isinstance(event, CallerHungUp):
            print("    Anrufer legt auf")
        state, effects = step(state, event)
    raise RuntimeError("simulation did not end")  # pragma: no cover - the engine is bounded


def _next_event(
    keys: Iterator[str], otherwise: DigitTimeout | None
) -> DigitPressed | DigitTimeout | CallerHungUp | None:
    key = next(keys, None)
    if key is None:
        return otherwise
    if key == HANG_UP:
        return CallerHungUp()
    if key == SILENT:
        return otherwise
    return DigitPressed(key)


def _show(effect: Effect) -> None:
    if isinstance(effect, PlayPrompt):
        parts = [_prompt_text(p, effect.language) for p in effect.prompts]
        text = " ".join(parts)
        if len(text) > _TEXT_WIDTH:
            text = text[: _TEXT_WIDTH - 1] + "…"
        print(f"  ♪ {effect.menu}: {text}")
    elif isinstance(effect, SetLanguage):
        print(f"  Sprache: {effect.language}")


def _prompt_text(prompt: Prompt | None, language: str) -> str:
    if prompt is None:
        return ""
    text = prompt.text_for(language)
    if prompt.sound:
        return f"[{prompt.sound}]" + (f" „{text}“" if text else "")
    return f"„{text}“"


def _report(cfg: ServiceCenterConfig, client_id: str | None, route: Route, language: str) -> int:
    topics = cfg.service_center.topics
    how = _CAUSES.get(route.cause, route.cause)
    topic_id: str | None = None
    match route:
        case QueueRoute(topic=topic, prompt=prompt):
            topic_id = topic
            what = f"Warteschlange {topic} ({topics[topic].name})"
            what += f" nach Ansage {_prompt_text(prompt, language)}" if prompt else ""
        case TransferRoute(target=target, topic=topic, prompt=prompt):
            topic_id = topic
            what = f"Weiterleitung an {target}"
            what += f" nach Ansage {_prompt_text(prompt, language)}" if prompt else ""
        case AnnounceAndHangup(prompt=prompt, topic=topic):
            topic_id = topic
            what = f"Ansage {_prompt_text(prompt, language)}, dann Auflegen"
        case HangupRoute(reason=reason):
            what = f"Auflegen ({reason})"
        case Abandoned():
            what = "Anrufer hat im Menü aufgelegt"
        case ClientRoute(client_id=chosen):
            what = f"Kunde {chosen}"
        case _:  # pragma: no cover
            what = repr(route)
    print(f"→ {what} – Menü {route.menu}, {how}")
    if client_id is not None and not isinstance(route, Abandoned):
        client = cfg.clients[client_id]
        topic = topics.get(topic_id) if topic_id else None
        marks = annotate(client, topic, None, topic_id=topic_id, language=language)
        print(f"  Anrufername: {marks.caller_id_name}")
        headers = "; ".join(f"{k}: {v}" for k, v in marks.sip_headers.items())
        print(f"  SIP-Header: {headers}")
    return 0
