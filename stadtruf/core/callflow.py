"""One inbound call, from arrival to its route, as a pure state machine: events in, effects out.

Origin → (town menu →) client menu → language → route. The ARI app (`ari_app.call`) and
`stadtruf simulate` both drive this machine and only translate; neither decides anything.
Built on the pure pieces: `origin.resolve` decides the client, `menu.start`/`menu.step` run
each menu, `annotation.annotate` marks the call.

Rules
-----
1. Arrival: the client comes from the dialled number, the Diversion and the caller's number
   (`stadtruf.core.origin`), unless one is given (``stadtruf simulate CLIENT``). The call is
   answered and the reason kept in ``STADTRUF_ORIGIN_REASON``.
2. Origin undecided: the town menu, in the service center's default language, led by its
   greeting. A ``client`` route continues with that client; any other route ends the call
   without a client (and so without annotation).
3. The client's menu, led by the client's greeting, in the language the caller chose in the
   town menu if the client offers it (its menus and prompts exist only in its `languages`),
   else in the client's own language. Before it starts the call is annotated with the client.
4. The menu's route: queue and transfer annotate the topic (announce only when it names one),
   ``STADTRUF_ROUTE`` says where the call went, the route's prompt plays to its end (keys are
   ignored), then the call is queued, transferred or hung up.
5. At most ``max_menu_prompts`` menu prompts per call, town and client menu together.
6. The caller hanging up ends the call at any point; after the end every event is ignored.
7. Opening hours (`stadtruf.core.closed`, at ``Arrival.at``): the client's once it is known,
   the topic's when the menu routes to one. Closed: ``RouteChosen(cause="closed")``, the
   closed announcement plays to its end, then hang-up, transfer, or a `Queue` effect with
   ``closed_action`` (voicemail/callback: the queue adapter takes the message).

Effects (the runtime does these, in order): `Answer`, `SetVariable`, the menu's `PlayPrompt`,
`StopPrompt`, `StartDigitTimer`, `CancelDigitTimer`, `SetLanguage`; `PlayToEnd` (report its
`PromptFinished`); and one final `Queue`, `Transfer` or `Hangup` unless the caller hung up.
`Emit(event)` hands a fact of the call's life (`stadtruf.core.lifecycle`) to the record.
Events (the runtime reports these): the menu's `PromptFinished`, `DigitPressed`,
`DigitTimeout`, `CallerHungUp`.

Ids: the flow shifts each menu's playback and timer ids past those used already.

Example (Bottrop's switchboard, key 4 queues to ``ordnungsamt``)::

    state, fx = start(cfg, Arrival(dialled="02041700", caller="02041555"))
    # fx: Emit(Arrived), Emit(OriginDecided), Answer(), SetVariable(...), ...,
    #     Emit(MenuEntered("main", "bottrop")), PlayPrompt(..., playback_id=1)
    state, fx = step(state, DigitPressed("4"))
    # fx: Emit(KeyPressed), StopPrompt(1), Emit(RouteChosen(...)), ..., Queue("ordnungsamt")
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import Enum

from stadtruf.config import ServiceCenterConfig
from stadtruf.config.model import Client, Prompt
from stadtruf.core import menu
from stadtruf.core.annotation import Annotation, annotate, header_variable
from stadtruf.core.callflow_effects import (  # re-exported: the flow's interface
    FINAL,
    Answer,
    Effect,
    Emit,
    Hangup,
    PlayToEnd,
    Queue,
    SetVariable,
    Transfer,
)
from stadtruf.core.closed import ClosedPlan, closed_plan
from stadtruf.core.hours import Override
from stadtruf.core.lifecycle import (
    Arrived,
    Ended,
    KeyPressed,
    LanguageChosen,
    MenuEntered,
    OriginDecided,
    RouteChosen,
    RouteKind,
    Transferred,
)
from stadtruf.core.menu import (
    CallerHungUp,
    CancelDigitTimer,
    DigitPressed,
    DigitTimeout,
    PlayPrompt,
    PromptFinished,
    SetLanguage,
    StartDigitTimer,
    StopPrompt,
)
from stadtruf.core.numbers import normalize
from stadtruf.core.origin import OriginDecision, dialled_kind, resolve
from stadtruf.core.record import CLOSED_CAUSE  # the record counts the call as closed by it

# The dialplan's transfer context dials this extension with the endpoint in the variable.
TRANSFER_ENDPOINT_EXTENSION = "endpoint"
TRANSFER_ENDPOINT_VARIABLE = "STADTRUF_TRANSFER_ENDPOINT"
GIVEN_RULE = "given"  # OriginDecided.rule when the client was given, not resolved

Event = menu.Event
__all__ = ["FINAL", "Answer", "Effect", "Emit", "Hangup", "PlayToEnd", "Queue", "SetVariable"]
__all__ += ["CLOSED_CAUSE", "Arrival", "CallState", "Stage", "Transfer", "start", "step"]

# --- State ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Arrival:
    """What the call brings: numbers as Asterisk reports them (raw, normalized here)."""

    dialled: str | None
    caller: str | None
    diversion: str | None = None
    caller_name: str = ""
    # CLIR: the caller withheld the number (CALLERID(pres) prohib…). It may still find the
    # town; nothing after the origin sees it, nor the caller's name (stadtruf.core.privacy).
    withheld: bool = False
    client: str | None = None  # given (stadtruf simulate CLIENT): skip the origin rules
    at: datetime | None = None  # the moment of arrival, for the opening hours (None: open)
    overrides: tuple[Override, ...] = ()  # opening-hours overrides in force


class Stage(Enum):
    TOWN_MENU = "town_menu"
    CLIENT_MENU = "client_menu"
    ANNOUNCING = "announcing"  # the route's prompt plays; then the final effects
    DONE = "done"


@dataclass(frozen=True)
class CallState:
    config: ServiceCenterConfig
    arrival: Arrival
    origin: OriginDecision  # as resolved, also when a client was given
    stage: Stage
    client: str | None = None
    chosen_language: str | None = None  # chosen in the town menu
    menu_state: menu.MenuState | None = None  # the menu running (or the last one)
    base: int = 0  # ids used before this menu run: flow id = base + menu id
    menu_entered: str | None = None  # last menu announced as entered
    playing: frozenset[int] = frozenset()  # flow playback ids started, not finished or stopped
    annotation: Annotation | None = None  # as set on the channel
    route: menu.Route | None = None  # how the menus ended (Abandoned: caller hung up)
    announce_id: int | None = None
    after_announce: tuple[Effect, ...] = ()

    @property
    def done(self) -> bool:
        return self.stage is Stage.DONE

    @property
    def language(self) -> str:
        """The call's language: the one its last menu played in."""
        if self.menu_state is not None:
            return self.menu_state.language
        return self.config.service_center.default_language


Step = tuple[CallState, tuple[Effect, ...]]

# --- The machine ----------------------------------------------------------------------------


def start(config: ServiceCenterConfig, arrival: Arrival) -> Step:
    """The call arrives: decide the origin, answer, start the first menu."""
    origin = resolve(
        config, dialled=arrival.dialled, caller=arrival.caller, diversion=arrival.diversion
    )
    if arrival.withheld:
        arrival = replace(arrival, caller=None, caller_name="")
    caller = normalize(arrival.caller)
    client, rule, reason = origin.client_id, str(origin.rule), origin.reason
    if arrival.client is not None:
        client, rule, reason = arrival.client, GIVEN_RULE, f"Kunde {arrival.client} vorgegeben"
    center = config.service_center
    state = CallState(config, arrival, origin, Stage.TOWN_MENU, client)
    effects: tuple[Effect, ...] = (
        Emit(Arrived(arrival.dialled or "", caller, withheld=caller is None)),
        Emit(OriginDecided(client, rule, reason)),
        Answer(),
        SetVariable("STADTRUF_ORIGIN_REASON", reason),
    )
    if client is not None:
        return _enter_client(state, effects, client)
    town = center.unknown_caller.town_menu
    if town is None:  # resolve() leaves the client open only when there is a town menu
        return _routed(state, effects, menu.HangupRoute("keine Stadtauswahl", cause="broken_menu"))
    intro = (center.greeting,) if center.greeting is not None else ()
    menu_state, menu_effects = menu.start(
        town, language=center.default_language, intro=intro, max_prompts=center.max_menu_prompts
    )
    return _from_menu(replace(state, menu_state=menu_state), effects, menu_effects)


def step(state: CallState, event: Event) -> Step:
    """Apply one event; stale and late events return the state unchanged and no effects."""
    if state.stage is Stage.DONE:
        return state, ()
    if isinstance(event, PromptFinished):
        state = replace(state, playing=state.playing - {event.playback_id})
    if state.stage is Stage.ANNOUNCING:
        return _announcing(state, event)
    assert state.menu_state is not None  # a menu stage always has its menu
    effects: tuple[Effect, ...] = ()
    match event:
        case PromptFinished(playback_id=pid):
            if pid <= state.base:
                return state, ()  # of an earlier menu
            inner: menu.Event = PromptFinished(pid - state.base)
        case DigitTimeout(timer_id=tid):
            if tid <= state.base:
                return state, ()
            inner = DigitTimeout(tid - state.base)
        case DigitPressed(digit=digit):
            effects = (Emit(KeyPressed(digit, state.menu_state.menu_id)),)
            inner = event
        case CallerHungUp():
            menu_state, menu_effects = menu.step(state.menu_state, event)
            cancels = tuple(
                CancelDigitTimer(state.base + e.timer_id)
                for e in menu_effects
                if isinstance(e, CancelDigitTimer)
            )
            return _ended_by_caller(
                replace(state, menu_state=menu_state, route=menu_state.route), event, cancels
            )
        case _:
            raise TypeError(f"not a call flow event: {event!r}")
    menu_state, menu_effects = menu.step(state.menu_state, inner)
    return _from_menu(replace(state, menu_state=menu_state), effects, menu_effects)


# --- Transitions ----------------------------------------------------------------------------


def _enter_client(state: CallState, effects: tuple[Effect, ...], client_id: str) -> Step:
    config = state.config
    client = config.clients.get(client_id)
    if client is None:  # config checks rule this out; never leave the caller in silence
        route = menu.HangupRoute(f"Kunde {client_id} fehlt", cause="broken_menu")
        return _routed(state, effects, route)
    chosen = state.chosen_language
    language = chosen if chosen in client.languages else client.language
    used = state.menu_state.prompts_played if state.menu_state is not None else 0
    base = state.base + (state.menu_state.token if state.menu_state is not None else 0)
    state = replace(state, stage=Stage.CLIENT_MENU, client=client.id, base=base)
    state, marks = _annotate(state, client, None, language)
    arrival, center = state.arrival, config.service_center
    plan = closed_plan(client, center, None, arrival.at, arrival.overrides, language)
    if plan is not None:
        return _closed(state, (*effects, *marks), plan, None, "", language)
    intro = (client.greeting,) if client.greeting is not None else ()
    menu_state, menu_effects = menu.start(
        client.menu,
        language=language,
        intro=intro,
        max_prompts=max(state.config.service_center.max_menu_prompts - used, 0),
    )
    state = replace(state, menu_state=menu_state, menu_entered=None)
    return _from_menu(state, (*effects, *marks), menu_effects)


def _from_menu(
    state: CallState, effects: tuple[Effect, ...], menu_effects: tuple[menu.Effect, ...]
) -> Step:
    """Carry out the menu's effects in the call's id space; follow its route."""
    base, out = state.base, list(effects)
    playing, entered, chosen = state.playing, state.menu_entered, state.chosen_language
    route: menu.Route | None = None
    for effect in menu_effects:
        match effect:
            case PlayPrompt():
                if effect.menu != entered:
                    out.append(Emit(MenuEntered(effect.menu, state.client)))
                    entered = effect.menu
                pid = base + effect.playback_id
                playing |= {pid}
                out.append(replace(effect, playback_id=pid))
            case StopPrompt(playback_id=pid):
                playing -= {base + pid}
                out.append(StopPrompt(base + pid))
            case StartDigitTimer():
                out.append(replace(effect, timer_id=base + effect.timer_id))
            case CancelDigitTimer(timer_id=tid):
                out.append(CancelDigitTimer(base + tid))
            case SetLanguage(language=language):
                out += [effect, Emit(LanguageChosen(language))]
                if state.stage is Stage.TOWN_MENU:
                    chosen = language
            case menu.Route():
                route = effect  # always the menu's last effect
    state = replace(state, playing=playing, menu_entered=entered, chosen_language=chosen)
    match route:
        case None:
            return state, tuple(out)
        case menu.ClientRoute(client_id=client_id):
            out.append(Emit(_route_chosen(route, "client", client_id, None)))
            return _enter_client(state, tuple(out), client_id)
    return _routed(state, tuple(out), route)


def _routed(state: CallState, effects: tuple[Effect, ...], route: menu.Route) -> Step:
    """The menus are over: mark the call, play the route's prompt, queue/transfer/hang up."""
    language = state.language
    # A playback still running would hold every later request on the channel.
    stops = tuple(StopPrompt(pid) for pid in sorted(state.playing))
    state = replace(state, route=route, playing=frozenset())
    effects = (*effects, *stops)
    client = _client(state)
    topic = route.topic if isinstance(route, menu.QueueRoute | menu.TransferRoute) else None
    if client is not None and topic:
        arrival, center = state.arrival, state.config.service_center
        plan = closed_plan(client, center, topic, arrival.at, arrival.overrides, language)
        if plan is not None:
            return _closed(state, effects, plan, topic, route.menu, language)
    prompt: Prompt | None = None
    marks: tuple[Effect, ...] = ()
    final: tuple[Effect, ...]
    match route:
        case menu.QueueRoute(topic=topic, prompt=prompt):
            state, marks = _annotate(state, client, topic, language)
            effects += (Emit(_route_chosen(route, "queue", topic, topic)), *marks)
            effects += (SetVariable("STADTRUF_ROUTE", f"queue:{topic}"),)
            final = (_queue(state, topic, language),)
        case menu.TransferRoute(target=target, topic=topic, prompt=prompt):
            state, marks = _annotate(state, client, topic, language)
            effects += (Emit(_route_chosen(route, "transfer", target, topic)), *marks)
            effects += (SetVariable("STADTRUF_ROUTE", f"transfer:{target}"),)
            final = (*_transfer(target), Emit(Transferred(target, "menu")))
            final += (Emit(Ended("transfer")),)
        case menu.AnnounceAndHangup(prompt=prompt, topic=topic):
            if topic:
                state, marks = _annotate(state, client, topic, language)
            effects += (Emit(_route_chosen(route, "announce", topic or "", topic)), *marks)
            effects += (SetVariable("STADTRUF_ROUTE", "announce"),)
            final = (Hangup(), Emit(Ended("menu")))
        case menu.Abandoned():
            return replace(state, stage=Stage.DONE), (*effects, Emit(Ended("caller")))
        case menu.HangupRoute(reason=reason):
            effects += (Emit(_route_chosen(route, "hangup", reason, None)),)
            effects += (SetVariable("STADTRUF_ROUTE", "hangup"),)
            final = (Hangup(), Emit(Ended("menu")))
        case _:  # pragma: no cover - ClientRoute is followed in _from_menu
            raise TypeError(f"not a final route: {route!r}")
    if prompt is None:
        return replace(state, stage=Stage.DONE), (*effects, *final)
    pid = state.base + (state.menu_state.token if state.menu_state is not None else 0) + 1
    announcing = replace(state, stage=Stage.ANNOUNCING, announce_id=pid, after_announce=final)
    return announcing, (*effects, PlayToEnd(prompt, language, pid))


def _closed(
    state: CallState,
    effects: tuple[Effect, ...],
    plan: ClosedPlan,
    topic: str | None,
    menu_id: str,
    language: str,
) -> Step:
    """The line is closed: say so and when it opens, then the configured action."""
    state, marks = _annotate(state, _client(state), topic, language) if topic else (state, ())
    chosen = RouteChosen(plan.action, plan.target, topic, menu_id, CLOSED_CAUSE)
    effects += (Emit(chosen), *marks, SetVariable("STADTRUF_ROUTE", f"closed:{plan.action}"))
    final: tuple[Effect, ...]
    if plan.action == "hangup":
        final = (Hangup(), Emit(Ended("menu")))
    elif plan.action == "transfer":
        final = (*_transfer(plan.target), Emit(Transferred(plan.target, "menu")))
        final += (Emit(Ended("transfer")),)
    else:  # the queue adapter takes the message and reports the call's end
        final = (replace(_queue(state, plan.target, language), closed_action=plan.action),)
    pid = state.base + (state.menu_state.token if state.menu_state is not None else 0) + 1
    route = menu.HangupRoute(CLOSED_CAUSE, menu=menu_id)
    state = replace(state, route=route, stage=Stage.ANNOUNCING, announce_id=pid)
    spoken = Prompt(text=plan.text)
    return replace(state, after_announce=final), (*effects, PlayToEnd(spoken, language, pid))


def _announcing(state: CallState, event: Event) -> Step:
    match event:
        case PromptFinished(playback_id=pid) if pid == state.announce_id:
            return replace(state, stage=Stage.DONE, after_announce=()), state.after_announce
        case CallerHungUp():
            return _ended_by_caller(state, event)
    return state, ()


def _ended_by_caller(
    state: CallState, event: CallerHungUp, effects: tuple[Effect, ...] = ()
) -> Step:
    """The caller hung up: record the end; nothing more is asked of the channel."""
    route = state.route if state.route is not None else menu.Abandoned()
    done = replace(state, stage=Stage.DONE, route=route, playing=frozenset(), after_announce=())
    return done, (*effects, Emit(Ended("caller", event.cause)))


def _client(state: CallState) -> Client | None:
    if state.client is None:
        return None
    return state.config.clients.get(state.client)


def _annotate(
    state: CallState, client: Client | None, topic_id: str | None, language: str
) -> tuple[CallState, tuple[Effect, ...]]:
    """Mark the call with its client (and topic): variables for the dialplan and the queue,
    the caller-ID name the agent sees, header variables inherited by outgoing legs."""
    if client is None:
        return state, ()
    topic = state.config.topic(topic_id) if topic_id else None
    marks = annotate(client, topic, state.arrival.caller_name, topic_id=topic_id, language=language)
    # Only what changed since the last marks: the topic's annotation repeats the client's, and
    # every variable is one ARI round trip (and a ChannelVarset event) on the call's path.
    before = dict(_settings(state.annotation)) if state.annotation is not None else {}
    changed = [(n, v) for n, v in _settings(marks) if before.get(n) != v]
    return replace(state, annotation=marks), tuple(SetVariable(n, v) for n, v in changed)


def _settings(marks: Annotation) -> list[tuple[str, str]]:
    """The channel settings that carry `marks`: variables, caller-ID name, header variables."""
    return [
        *marks.channel_variables.items(),
        ("CALLERID(name)", marks.caller_id_name),
        *((header_variable(h), v) for h, v in marks.sip_headers.items()),
    ]


def _queue(state: CallState, topic: str, language: str) -> Queue:
    client = _client(state)
    topic_model = state.config.topic(topic)
    marks = state.annotation
    return Queue(
        topic=topic,
        language=language,
        client_id=client.id if client is not None else None,
        client_name=client.name if client is not None else None,
        topic_name=topic_model.name if topic_model is not None else None,
        dialled=dialled_kind(state.config, state.origin, state.arrival.dialled),
        caller_number=state.arrival.caller or "",
        caller_id_name=marks.caller_id_name if marks else state.arrival.caller_name,
        sip_headers=dict(marks.sip_headers) if marks else {},
    )


def _transfer(target: str) -> tuple[Effect, ...]:
    number = normalize(target)
    if number is not None:
        return (Transfer(target, number),)
    # An endpoint such as PJSIP/wbd: the dialplan dials it from the variable.
    return (
        SetVariable(TRANSFER_ENDPOINT_VARIABLE, target),
        Transfer(target, TRANSFER_ENDPOINT_EXTENSION),
    )


def _route_chosen(
    route: menu.Route, kind: RouteKind, target: str, topic: str | None
) -> RouteChosen:
    return RouteChosen(kind, target, topic, route.menu, route.cause)
