"""The DTMF menu as a pure state machine: events in, effects out, no I/O.

The ARI app turns Asterisk events into *events*, calls `step`, and carries out the returned
*effects* in order; the engine never plays, waits or hangs up by itself. One call, one state.

Protocol
--------
Effects (the runtime does these):

- `PlayPrompt(prompts, language, playback_id, barge_in)` – play the prompts one after the
  other; report `PromptFinished(playback_id)` when the last one ends.
- `StopPrompt(playback_id)` – the caller pressed a key (barge-in): stop that playback. A
  `PromptFinished` for it may still arrive; it is ignored.
- `StartDigitTimer(seconds, timer_id)` – report `DigitTimeout(timer_id)` after `seconds`.
- `CancelDigitTimer(timer_id)` – that timer is no longer wanted. Its event, if it fires
  anyway, is ignored.
- `SetLanguage(language)` – set the channel language (sounds, texts, later the agent's skill).
- A `Route` – the menu is done; always the last effect, and exactly one per call:
  `QueueRoute(topic)`, `TransferRoute(target)`, `AnnounceAndHangup(prompt)`,
  `HangupRoute(reason)`, `ClientRoute(client_id)` (town menu) or `Abandoned` (caller hung up).

Events (the runtime reports these): `PromptFinished(playback_id)`, `DigitPressed(digit)`,
`DigitTimeout(timer_id)`, `CallerHungUp()`. Ids are a per-call counter: an event whose id is
not the current one is stale (a stopped prompt, a cancelled timer) and changes nothing. After
the route every event is ignored.

Rules: a key during the prompt stops it (unless the menu sets `barge_in: false`, then keys are
ignored until the prompt ends); after the prompt the digit timer runs. A key without an option,
or silence until the timer fires, is a failure: the menu is played again, led by the invalid
or timeout prompt, until `retries` are used up; then the menu's `default` action runs.
`back` returns to the menu we came from (in the start menu it repeats), `repeat` plays the
menu again. At most `max_prompts` playbacks per call: after that the current menu's default
applies at once, so every call ends within a bounded number of steps, whatever the caller does.

Example (``kfz`` menu: "1" queues to topic kfz)::

    state, fx = start(tree, language="de")       # fx: PlayPrompt(..., playback_id=1)
    state, fx = step(state, PromptFinished(1))   # fx: StartDigitTimer(5.0, timer_id=2)
    state, fx = step(state, DigitTimeout(7))     # stale id: state unchanged, fx == ()
    state, fx = step(state, DigitPressed("1"))   # fx: CancelDigitTimer(2), QueueRoute("kfz")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import Enum
from typing import Literal, TypeGuard, get_args

from stadtruf.config.model import (
    BUILTIN_RETRIES,
    BUILTIN_TIMEOUT,
    Action,
    AnnounceAction,
    BackAction,
    ClientAction,
    DigitKey,
    HangupAction,
    LanguageAction,
    MenuNode,
    MenuTree,
    Prompt,
    QueueAction,
    RepeatAction,
    SubmenuAction,
    TransferAction,
)

DEFAULT_MAX_PROMPTS = 30

# --- Events ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromptFinished:
    playback_id: int


@dataclass(frozen=True)
class DigitPressed:
    digit: str


@dataclass(frozen=True)
class DigitTimeout:
    timer_id: int


@dataclass(frozen=True)
class CallerHungUp:
    cause: int | None = None  # Q.850 hang-up cause, where Asterisk reports one


Event = PromptFinished | DigitPressed | DigitTimeout | CallerHungUp

# --- Effects --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayPrompt:
    prompts: tuple[Prompt, ...]
    language: str
    playback_id: int
    barge_in: bool = True
    menu: str = ""  # which menu this is, for logs and `stadtruf simulate`


@dataclass(frozen=True)
class StopPrompt:
    playback_id: int


@dataclass(frozen=True)
class StartDigitTimer:
    seconds: float
    timer_id: int


@dataclass(frozen=True)
class CancelDigitTimer:
    timer_id: int


@dataclass(frozen=True)
class SetLanguage:
    language: str


Cause = Literal["digit", "retries_exhausted", "prompt_limit", "caller_hung_up", "broken_menu"]


@dataclass(frozen=True, kw_only=True)
class Route:
    """The end of the menu. `menu` and `cause` say where and why, for logs and statistics."""

    menu: str = ""
    cause: Cause = "digit"


@dataclass(frozen=True, kw_only=False)
class QueueRoute(Route):
    """Hand-off point to the queue (next issue): wait for an agent on `topic`."""

    topic: str
    prompt: Prompt | None = None


@dataclass(frozen=True, kw_only=False)
class TransferRoute(Route):
    target: str  # national number or Asterisk endpoint such as PJSIP/wbd
    topic: str | None = None
    prompt: Prompt | None = None


@dataclass(frozen=True, kw_only=False)
class AnnounceAndHangup(Route):
    prompt: Prompt
    topic: str | None = None


@dataclass(frozen=True, kw_only=False)
class HangupRoute(Route):
    reason: str


@dataclass(frozen=True, kw_only=False)
class ClientRoute(Route):
    """Town menu answered: continue with this client's menu."""

    client_id: str


@dataclass(frozen=True, kw_only=False)
class Abandoned(Route):
    """The caller hung up in the menu; nothing left to do on the channel."""


Effect = PlayPrompt | StopPrompt | StartDigitTimer | CancelDigitTimer | SetLanguage | Route

# --- State ----------------------------------------------------------------------------------


class Phase(Enum):
    PLAYING = "playing"  # prompt running; token = its playback_id
    WAITING = "waiting"  # digit timer running; token = its timer_id
    DONE = "done"  # route given; everything else is ignored


@dataclass(frozen=True)
class MenuState:
    tree: MenuTree
    menu_id: str
    language: str
    phase: Phase
    token: int = 0  # id of the current playback or timer; other ids are stale
    failures: int = 0  # invalid or missing keys since entering this menu
    stack: tuple[str, ...] = ()  # menus `back` returns to
    prompts_played: int = 0
    max_prompts: int = DEFAULT_MAX_PROMPTS
    digits: tuple[str, ...] = ()  # keys taken, for logs
    route: Route | None = None

    @property
    def node(self) -> MenuNode:
        return self.tree.menus[self.menu_id]

    @property
    def done(self) -> bool:
        return self.phase is Phase.DONE


Step = tuple[MenuState, tuple[Effect, ...]]


def start(
    tree: MenuTree,
    *,
    language: str = "de",
    intro: Sequence[Prompt] = (),
    max_prompts: int = DEFAULT_MAX_PROMPTS,
) -> Step:
    """Begin a call in the tree's start menu; `intro` (greeting) is played before its prompt."""
    state = MenuState(tree, tree.start, language, Phase.PLAYING, max_prompts=max_prompts)
    if tree.start not in tree.menus:
        return _finish(state, (), HangupRoute(f"Startmenü {tree.start} fehlt"), "broken_menu")
    return _play(state, (), tuple(intro))


def resume(
    tree: MenuTree,
    menu_id: str,
    *,
    language: str = "de",
    stack: Sequence[str] = (),
    max_prompts: int = DEFAULT_MAX_PROMPTS,
) -> Step:
    """Go on in `menu_id` (after a restart of the app): its prompt again, without the
    greeting, the way back kept. A menu the tree no longer has (a reload) gives its start."""
    if menu_id not in tree.menus:
        return start(tree, language=language, max_prompts=max_prompts)
    back = tuple(m for m in stack if m in tree.menus)
    state = MenuState(tree, menu_id, language, Phase.PLAYING, stack=back, max_prompts=max_prompts)
    return _play(state, (), ())


def step(state: MenuState, event: Event) -> Step:
    """Apply one event; stale and late events return the state unchanged and no effects."""
    if state.phase is Phase.DONE:
        return state, ()
    match event:
        case CallerHungUp():
            pending = (CancelDigitTimer(state.token),) if state.phase is Phase.WAITING else ()
            return _finish(state, pending, Abandoned(), "caller_hung_up")
        case PromptFinished(playback_id=pid):
            if state.phase is not Phase.PLAYING or pid != state.token:
                return state, ()
            token = state.token + 1
            seconds = state.node.timeout or BUILTIN_TIMEOUT
            waiting = replace(state, phase=Phase.WAITING, token=token)
            return waiting, (StartDigitTimer(seconds, token),)
        case DigitTimeout(timer_id=tid):
            if state.phase is not Phase.WAITING or tid != state.token:
                return state, ()
            return _failure(state, (), state.node.timeout_prompt)
        case DigitPressed(digit=digit):
            if state.phase is Phase.PLAYING:
                if not state.node.barge_in:
                    return state, ()
                stop: Effect = StopPrompt(state.token)
            else:
                stop = CancelDigitTimer(state.token)
            return _digit(state, (stop,), digit)
    raise TypeError(f"not a menu event: {event!r}")


# --- Transitions ----------------------------------------------------------------------------


def _digit(state: MenuState, effects: tuple[Effect, ...], digit: str) -> Step:
    # DTMF also has A-D, and a runtime may report anything: only menu keys can have an option.
    action = state.node.options.get(digit) if _is_menu_key(digit) else None
    if action is None:
        return _failure(state, effects, state.node.invalid_prompt)
    return _act(replace(state, digits=(*state.digits, digit)), effects, action, "digit")


def _is_menu_key(digit: str) -> TypeGuard[DigitKey]:
    return digit in _MENU_KEYS


_MENU_KEYS = frozenset(get_args(DigitKey))


def _failure(state: MenuState, effects: tuple[Effect, ...], lead: Prompt | None) -> Step:
    failures = state.failures + 1
    retries = state.node.retries if state.node.retries is not None else BUILTIN_RETRIES
    if failures > retries:
        default = state.node.default
        if default is None or isinstance(default, BackAction | RepeatAction):
            return _fallback(state, effects, "retries_exhausted")
        return _act(state, effects, default, "retries_exhausted")
    return _play(replace(state, failures=failures), effects, (lead,) if lead else ())


def _act(state: MenuState, effects: tuple[Effect, ...], action: Action, cause: Cause) -> Step:
    match action:
        case LanguageAction(language=language, submenu=target):
            switched = replace(state, language=language)
            return _enter(switched, (*effects, SetLanguage(language)), target, cause)
        case SubmenuAction(submenu=target):
            return _enter(state, effects, target, cause)
        case BackAction():
            if not state.stack:
                return _play(state, effects, ())
            back = replace(state, menu_id=state.stack[-1], stack=state.stack[:-1], failures=0)
            return _play(back, effects, ())
        case RepeatAction():
            return _play(state, effects, ())
    route = route_of(action)
    if route is None:  # pragma: no cover - every action is matched above or in _route
        return _finish(state, effects, HangupRoute(f"unbekannte Aktion {action!r}"), "broken_menu")
    return _finish(state, effects, route, cause)


def _enter(state: MenuState, effects: tuple[Effect, ...], target: str, cause: Cause) -> Step:
    if target not in state.tree.menus:
        return _finish(state, effects, HangupRoute(f"Menü {target} fehlt"), "broken_menu")
    entered = replace(state, menu_id=target, stack=(*state.stack, state.menu_id), failures=0)
    return _play(entered, effects, ())


def _play(state: MenuState, effects: tuple[Effect, ...], lead: tuple[Prompt, ...]) -> Step:
    if state.prompts_played >= state.max_prompts:
        return _fallback(state, effects, "prompt_limit")
    token = state.token + 1
    node = state.node
    playing = replace(
        state, phase=Phase.PLAYING, token=token, prompts_played=state.prompts_played + 1
    )
    play = PlayPrompt((*lead, node.prompt), state.language, token, node.barge_in, state.menu_id)
    return playing, (*effects, play)


def _fallback(state: MenuState, effects: tuple[Effect, ...], cause: Cause) -> Step:
    """Follow defaults from the current menu, without playing, to the first real route."""
    menu_id, seen = state.menu_id, set()
    while menu_id in state.tree.menus and menu_id not in seen:
        seen.add(menu_id)
        default = state.tree.menus[menu_id].default
        if isinstance(default, SubmenuAction | LanguageAction):
            menu_id = default.submenu
            continue
        route = route_of(default) if default is not None else None
        if route is not None:
            return _finish(replace(state, menu_id=menu_id), effects, route, cause)
        break
    return _finish(state, effects, HangupRoute(f"kein Ausweg aus Menü {menu_id}"), "broken_menu")


def route_of(action: Action | None) -> Route | None:
    """Where a terminal action sends the call (None for submenu, back, repeat, language)."""
    match action:
        case QueueAction(queue=topic, prompt=prompt):
            return QueueRoute(topic, prompt)
        case TransferAction(transfer=target, topic=topic, prompt=prompt):
            return TransferRoute(target, topic, prompt)
        case AnnounceAction(announce=prompt, topic=topic):
            return AnnounceAndHangup(prompt, topic)
        case HangupAction():
            return HangupRoute("Auflegen laut Menü")
        case ClientAction(client=client_id):
            return ClientRoute(client_id)
    return None


def _finish(state: MenuState, effects: tuple[Effect, ...], route: Route, cause: Cause) -> Step:
    route = replace(route, menu=state.menu_id, cause=cause)
    return replace(state, phase=Phase.DONE, route=route), (*effects, route)
