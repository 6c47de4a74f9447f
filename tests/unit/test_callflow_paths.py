"""Every menu path of the sample config, through both drivers of the call flow: they agree.

The paths are enumerated from the config, not written by hand: from each way in (every
client's switchboard, a Diversion, 115 by area code, 115 withheld → town menu), every option
of every menu, an invalid key, silence until the timer fires, hanging up; then deeper from
every menu state not seen before (menu, failures so far, way back, language, client), so
retries, back/repeat, the town menu with each town and the languages are all walked. When
the keys run out the caller stays silent, which ends every path in the menus' defaults.

Each path runs through `stadtruf simulate` (printing) and through the ARI driver against
`FakeAri` (ARI events in, requests out); the route, the annotation the agent sees and the
language must be the same, and so must the call's life events.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from stadtruf.commands.simulate import simulate
from stadtruf.config import ServiceCenterConfig, load
from stadtruf.core.annotation import header_variable
from stadtruf.core.callflow import (
    TRANSFER_ENDPOINT_EXTENSION,
    Arrival,
    CallState,
    PlayToEnd,
    Stage,
    start,
    step,
)
from stadtruf.core.lifecycle import Ended, LanguageChosen, LifeEvent
from stadtruf.core.menu import (
    Abandoned,
    AnnounceAndHangup,
    CallerHungUp,
    DigitPressed,
    DigitTimeout,
    HangupRoute,
    PlayPrompt,
    PromptFinished,
    QueueRoute,
    StartDigitTimer,
    TransferRoute,
)
from stadtruf.core.numbers import normalize
from tests.support.ari_caller import AriCaller, queue_request

ROOT = Path(__file__).parents[2]
CONFIG = load(ROOT / "config")
KEYS = "0123456789*#"


@dataclass(frozen=True)
class Way:
    """How a call comes in: what the ARI channel carries."""

    name: str
    dialled: str
    caller: str = ""
    diversion: str | None = None

    @property
    def arrival(self) -> Arrival:
        return Arrival(self.dialled, self.caller, self.diversion)


def ways_in(cfg: ServiceCenterConfig) -> list[Way]:
    ways = [
        Way(f"switchboard-{client}", number, caller="0301234567")
        for number, client in sorted(cfg.switchboards.items())
    ]
    for client in cfg.clients.values():
        for code in client.area_codes[:1]:
            ways.append(Way(f"115-{client.id}", "115", caller=f"{code}555123"))
    diverted_from, _ = next(iter(sorted(cfg.switchboards.items())))
    ways.append(Way("diversion", "115", caller="0301234567", diversion=diverted_from))
    ways.append(Way("115-withheld", "115", caller="anonymous"))
    return ways


def _waiting(cfg: ServiceCenterConfig, way: Way, keys: tuple[str, ...]) -> CallState:
    """The flow after `keys` (pressed after each prompt), where it waits for the next key."""
    state, effects = start(cfg, way.arrival)
    pending = deque(keys)
    while not state.done:
        event: Any = None
        for effect in effects:
            if isinstance(effect, PlayPrompt | PlayToEnd):
                event = PromptFinished(effect.playback_id)
            elif isinstance(effect, StartDigitTimer):
                if not pending:
                    return state
                key = pending.popleft()
                event = (
                    DigitTimeout(effect.timer_id)
                    if key == "t"
                    else CallerHungUp()
                    if key == "h"
                    else DigitPressed(key)
                )
        state, effects = step(state, event)
    return state


def _candidates(state: CallState) -> list[str]:
    assert state.menu_state is not None
    options = sorted(state.menu_state.node.options)
    invalid = [k for k in KEYS if k not in options][:1]
    return [*options, *invalid, "t", "h"]


def paths(cfg: ServiceCenterConfig) -> Iterator[tuple[Way, tuple[str, ...]]]:
    """Breadth first: every way in, then every key in every menu state not yet expanded.

    A menu state is the client, the menu and the language; a key that fails (invalid,
    silence) or goes back lands in a known state, whose path is kept but not expanded again.
    """
    seen: set[Any] = set()
    for way in ways_in(cfg):
        queue: deque[tuple[str, ...]] = deque([()])
        while queue:
            keys = queue.popleft()
            yield way, keys
            state = _waiting(cfg, way, keys)
            if state.done:
                continue
            menu = state.menu_state
            assert menu is not None
            where = (state.stage, state.client, menu.menu_id, menu.language)
            if where in seen:
                continue
            seen.add(where)
            queue.extend((*keys, key) for key in _candidates(state))


PATHS = list(paths(CONFIG))


def test_the_paths_cover_every_menu_option_and_the_languages() -> None:
    assert len(PATHS) > 100
    menus_keyed: set[tuple[str | None, str, str]] = set()
    languages: set[str] = set()
    for way, keys in PATHS:
        if not keys:
            continue
        state = _waiting(CONFIG, way, keys[:-1])
        if state.menu_state is not None and not state.done:
            menus_keyed.add((state.client, state.menu_state.menu_id, keys[-1]))
        languages.add(_waiting(CONFIG, way, keys).language)
    town = CONFIG.service_center.unknown_caller.town_menu
    assert town is not None
    for menu_id, node in town.menus.items():
        for key in node.options:
            assert (None, menu_id, key) in menus_keyed
    for client in CONFIG.clients.values():
        for menu_id, node in client.menu.menus.items():
            for key in node.options:
                assert (client.id, menu_id, key) in menus_keyed, (client.id, menu_id, key)
    assert languages == {"de", "en"}


@pytest.mark.parametrize("barge_in", [False, True], ids=["after-prompt", "barge-in"])
@pytest.mark.parametrize(
    ("way", "keys"), PATHS, ids=[f"{w.name}:{','.join(k) or '-'}" for w, k in PATHS]
)
async def test_simulate_and_the_ari_driver_agree(
    way: Way, keys: tuple[str, ...], barge_in: bool
) -> None:
    lines: list[str] = []
    simulated: list[LifeEvent] = []
    state = simulate(
        CONFIG, way.arrival, keys, barge_in=barge_in, out=lines.append, emit=simulated.append
    )
    ari = AriCaller(CONFIG, dialled=way.dialled, caller=way.caller, diversion=way.diversion)
    await ari.run(keys, barge_in=barge_in)

    # The ARI driver also knows the hang-up's Q.850 cause; simulate's caller has none.
    assert [_without_cause(e) for e in ari.events] == simulated
    _same_route(state, ari, lines)
    _same_annotation(state, ari, lines)
    _same_language(state, ari, simulated)


def _without_cause(event: LifeEvent) -> LifeEvent:
    return replace(event, cause=None) if isinstance(event, Ended) else event


def _same_route(state: CallState, ari: AriCaller, lines: list[str]) -> None:
    route = state.route
    variables = ari.variables
    printed = next(line for line in lines if line.startswith("→ "))
    hung_up = bool(ari.ari.calls("hangup"))
    transfers = ari.ari.calls("continue_in_dialplan")
    request = queue_request(ari)
    match route:
        case QueueRoute(topic=topic):
            assert variables["STADTRUF_ROUTE"] == f"queue:{topic}"
            assert request is not None and request.topic == topic
            assert printed.startswith(f"→ Warteschlange {topic} ")
        case TransferRoute(target=target):
            assert variables["STADTRUF_ROUTE"] == f"transfer:{target}"
            extension = normalize(target) or TRANSFER_ENDPOINT_EXTENSION
            assert [t["extension"] for t in transfers] == [extension]
            assert printed.startswith(f"→ Weiterleitung an {target}")
        case AnnounceAndHangup():
            assert variables["STADTRUF_ROUTE"] == "announce" and hung_up
            assert printed.startswith("→ Ansage ")
        case HangupRoute():
            assert variables["STADTRUF_ROUTE"] == "hangup" and hung_up
            assert printed.startswith("→ Auflegen")
        case Abandoned():
            assert "STADTRUF_ROUTE" not in variables and not hung_up
            assert printed.startswith("→ Anrufer hat im Menü aufgelegt")
        case _:
            pytest.fail(f"unexpected route {route!r}")
    if not isinstance(route, QueueRoute):
        assert request is None
    if not isinstance(route, TransferRoute):
        assert not transfers
    assert state.stage is Stage.DONE


def _same_annotation(state: CallState, ari: AriCaller, lines: list[str]) -> None:
    marks = state.annotation
    variables = ari.variables
    if marks is None:
        assert "STADTRUF_CLIENT" not in variables
        assert not any(line.startswith("  Anrufername:") for line in lines)
        return
    assert variables["CALLERID(name)"] == marks.caller_id_name
    for name, value in marks.channel_variables.items():
        assert variables[name] == value
    for header, value in marks.sip_headers.items():
        assert variables[header_variable(header)] == value
    if not isinstance(state.route, Abandoned):
        assert f"  Anrufername: {marks.caller_id_name}" in lines
    request = queue_request(ari)
    if request is not None:
        assert request.caller_id_name == marks.caller_id_name
        assert dict(request.sip_headers) == marks.sip_headers
        assert request.client_id == state.client


def _same_language(state: CallState, ari: AriCaller, simulated: list[LifeEvent]) -> None:
    plays = ari.ari.calls("play")
    assert plays and plays[-1]["lang"] == state.language
    chosen = [e.language for e in simulated if isinstance(e, LanguageChosen)]
    if chosen:
        assert ari.variables["CHANNEL(language)"] == chosen[-1]
    request = queue_request(ari)
    if request is not None:
        assert request.language == state.language
