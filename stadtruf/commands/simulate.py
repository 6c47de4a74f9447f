"""`stadtruf simulate`: walk a call through origin resolution and the menus, without a phone.

For the admin who just edited a menu: "what happens when someone from Kirchhellen dials 115 and
presses 2, then 1?" Every step is printed, then the route and how the call is marked. Keys are
pressed after each prompt (or during it, with --barge-in); when the keys run out the caller
stays silent, so the output also shows where a silent caller ends up.

Keys: 0-9 * #, separated by commas or spaces; `t` = stay silent until the timer fires,
`h` = hang up. CLIENT is a client id or `auto` (decide from --to/--from/--diversion, as the
ARI app does, and play the town menu when needed). With --at (e.g. 2026-06-04T10:00, Berlin
time) the call meets the opening hours of that moment (and the overrides of `stadtruf hours`
in force then); without, the opening hours are not checked.

The call runs through the same state machine as a real call (`stadtruf.core.callflow`); this
command only plays the caller and prints what happens.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime

from stadtruf.commands.serve import add_config_argument
from stadtruf.config import ConfigError, Prompt, ServiceCenterConfig, load
from stadtruf.core.callflow import (
    CLOSED_CAUSE,
    Arrival,
    CallState,
    Effect,
    Emit,
    PlayToEnd,
    start,
    step,
)
from stadtruf.core.closed import parse_moment
from stadtruf.core.hours import (
    BERLIN,
    WEEKDAYS_DE,
    Override,
)
from stadtruf.core.lifecycle import LifeEvent, MenuEntered, RouteChosen
from stadtruf.core.menu import (
    Abandoned,
    AnnounceAndHangup,
    CallerHungUp,
    ClientRoute,
    DigitPressed,
    DigitTimeout,
    HangupRoute,
    PlayPrompt,
    PromptFinished,
    QueueRoute,
    SetLanguage,
    StartDigitTimer,
    TransferRoute,
)
from stadtruf.store.overrides import OverrideStore, overrides_path

AUTO = "auto"
SILENT = "t"
HANG_UP = "h"
_MAX_STEPS = 1000  # the flow bounds itself; this only guards the printing loop
_TEXT_WIDTH = 110
_CAUSES = {
    "digit": "durch Tastendruck",
    "retries_exhausted": "Wiederholungen aufgebraucht (default)",
    "prompt_limit": "Obergrenze an Ansagen erreicht (default)",
    "caller_hung_up": "Anrufer hat aufgelegt",
    "broken_menu": "Menü ohne Ausweg",
}

Print = Callable[[str], None]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    add_config_argument(parser)
    parser.add_argument("--barge-in", action="store_true", help="Tasten während der Ansage drücken")
    parser.add_argument(
        "--at",
        metavar="ZEIT",
        help="Zeitpunkt des Anrufs für die Öffnungszeiten, z. B. 2026-06-04T10:00",
    )
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
    given = None if args.client == AUTO else args.client
    if given is not None and given not in cfg.clients:
        print(f"Kunde '{given}' gibt es nicht (vorhanden: {', '.join(cfg.clients)})")
        return 2
    at = None
    overrides: tuple[Override, ...] = ()
    if args.at is not None:
        try:
            at = parse_moment(args.at, datetime.now(UTC))
        except ValueError as exc:
            print(f"--at: {exc}")
            return 2
        overrides = OverrideStore(overrides_path(), lambda: at.timestamp()).all()
        local = at.astimezone(BERLIN)
        print(f"Zeitpunkt: {WEEKDAYS_DE[local.weekday()]}, {local:%d.%m.%Y %H:%M:%S} Uhr")
    arrival = Arrival(
        args.dialled, args.caller, args.diversion, client=given, at=at, overrides=overrides
    )
    simulate(cfg, arrival, keys, barge_in=args.barge_in)
    return 0


def simulate(
    cfg: ServiceCenterConfig,
    arrival: Arrival,
    keys: Iterable[str],
    *,
    barge_in: bool = False,
    out: Print = print,
    emit: Callable[[LifeEvent], None] | None = None,
) -> CallState:
    """Play the caller pressing `keys` through the call flow; print each step, then the route.

    Keys come after each prompt (during it with `barge_in`); when they run out the caller
    stays silent. `emit` sees the call's life events, as the ARI app's sink does.
    """
    pending = iter(keys)
    state, effects = start(cfg, arrival)
    origin = state.origin
    if arrival.client is None:
        out(f"Herkunft: {origin.reason} [{origin.rule}]")
    elif (arrival.dialled or arrival.caller or arrival.diversion) and (
        origin.client_id != arrival.client
    ):
        out(f"Hinweis: die Herkunftsermittlung ergäbe {origin.client_id or '?'}")
        out(f"         ({origin.reason})")
    entered: set[str | None] = set()
    closed: RouteChosen | None = None
    for _ in range(_MAX_STEPS):
        event: DigitPressed | DigitTimeout | CallerHungUp | PromptFinished | None = None
        for effect in effects:
            if isinstance(effect, Emit):
                if emit is not None:
                    emit(effect.event)
                _heading(cfg, effect.event, entered, out)
                if isinstance(effect.event, RouteChosen) and effect.event.cause == CLOSED_CAUSE:
                    closed = effect.event
            _show(effect, out)
            if isinstance(effect, PlayPrompt):
                if barge_in and effect.barge_in:
                    event = _next_event(pending, None)
                    if event is not None:
                        out("    (Taste unterbricht die Ansage)")
                event = event or PromptFinished(effect.playback_id)
            elif isinstance(effect, StartDigitTimer):
                event = _next_event(pending, DigitTimeout(effect.timer_id))
                if isinstance(event, DigitTimeout):
                    out(f"    … {effect.seconds:g} s keine Eingabe")
            elif isinstance(effect, PlayToEnd):
                event = PromptFinished(effect.playback_id)  # the route's prompt: no keys
                if closed is not None:
                    out(f"  ♪ Geschlossen: {_prompt_text(effect.prompt, effect.language)}")
        if state.done:
            if closed is not None:
                _report_closed(cfg, state, closed, out)
            else:
                _report(cfg, state, out)
            return state
        if event is None:  # pragma: no cover - every open call waits for an event
            break
        if isinstance(event, DigitPressed):
            out(f"    Taste {event.digit}")
        elif isinstance(event, CallerHungUp):
            out("    Anrufer legt auf")
        state, effects = step(state, event)
    raise RuntimeError("simulation did not end")  # pragma: no cover - the flow is bounded


def _heading(
    cfg: ServiceCenterConfig, event: LifeEvent, entered: set[str | None], out: Print
) -> None:
    """`Stadtauswahl:` before the town menu, `Kunde: …` before the client's menu."""
    if not isinstance(event, MenuEntered) or event.client in entered:
        return
    entered.add(event.client)
    if event.client is None:
        out("Stadtauswahl:")
    else:
        client = cfg.clients[event.client]
        out(f"Kunde: {client.name} [{client.tag}]")


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


def _show(effect: Effect, out: Print) -> None:
    if isinstance(effect, PlayPrompt):
        parts = [_prompt_text(p, effect.language) for p in effect.prompts]
        text = " ".join(parts)
        if len(text) > _TEXT_WIDTH:
            text = text[: _TEXT_WIDTH - 1] + "…"
        out(f"  ♪ {effect.menu}: {text}")
    elif isinstance(effect, SetLanguage):
        out(f"  Sprache: {effect.language}")


def _prompt_text(prompt: Prompt | None, language: str) -> str:
    if prompt is None:
        return ""
    text = prompt.text_for(language)
    if prompt.sound:
        return f"[{prompt.sound}]" + (f" „{text}“" if text else "")
    return f"„{text}“"


_CLOSED_ACTIONS = {
    "hangup": "Auflegen",
    "transfer": "Weiterleitung an {target}",
    "voicemail": "Nachricht aufnehmen (Rückrufliste, Thema {target})",
    "callback": "Rückrufwunsch (Rückrufliste, Thema {target})",
}


def _report_closed(
    cfg: ServiceCenterConfig, state: CallState, closed: RouteChosen, out: Print
) -> None:
    what = _CLOSED_ACTIONS.get(closed.kind, closed.kind).format(target=closed.target or "–")
    where = f"Thema {closed.topic}" if closed.topic else "Kunde"
    out(f"→ Geschlossen ({where}), dann {what}")
    marks = state.annotation
    if marks is not None:
        out(f"  Anrufername: {marks.caller_id_name}")


def _report(cfg: ServiceCenterConfig, state: CallState, out: Print) -> None:
    topics = cfg.service_center.topics
    route, language = state.route, state.language
    assert route is not None  # a finished call has its route
    how = _CAUSES.get(route.cause, route.cause)
    match route:
        case QueueRoute(topic=topic, prompt=prompt):
            what = f"Warteschlange {topic} ({topics[topic].name})"
            what += f" nach Ansage {_prompt_text(prompt, language)}" if prompt else ""
        case TransferRoute(target=target, prompt=prompt):
            what = f"Weiterleitung an {target}"
            what += f" nach Ansage {_prompt_text(prompt, language)}" if prompt else ""
        case AnnounceAndHangup(prompt=prompt):
            what = f"Ansage {_prompt_text(prompt, language)}, dann Auflegen"
        case HangupRoute(reason=reason):
            what = f"Auflegen ({reason})"
        case Abandoned():
            what = "Anrufer hat im Menü aufgelegt"
        case ClientRoute(client_id=chosen):  # pragma: no cover - the flow follows it
            what = f"Kunde {chosen}"
        case _:  # pragma: no cover
            what = repr(route)
    out(f"→ {what} – Menü {route.menu}, {how}")
    marks = state.annotation
    if marks is not None and not isinstance(route, Abandoned):
        out(f"  Anrufername: {marks.caller_id_name}")
        headers = "; ".join(f"{k}: {v}" for k, v in marks.sip_headers.items())
        out(f"  SIP-Header: {headers}")
