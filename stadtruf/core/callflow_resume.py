"""Going on with a call where it was: after the app restarted, or its event stream was cut.

`snapshot(state)` is what of a call in the menus a fresh process needs (`core.snapshot`,
kept by the adapter in a channel variable); `resume(config, arrival, snapshot)` starts the
call flow from it instead of from the arrival; `reconnected(state)` is the same for a call
this process still has, whose events in the gap may be lost (a prompt's end, a key).

Rules:

1. In a menu: the current menu's prompt plays again (no greeting), the way back (``back``)
   and the language kept, and the menu plays at most the prompts the call had left.
2. Waiting in the queue: straight back to the queue (no menu, no route prompt), with the
   time first queued, so the queue keeps the caller's place by it.
3. Talking: the conversation bridge carries the call (the queue adopts it). A caller found
   in Stasis outside that bridge has lost the agent meanwhile: hang up, ended by the agent.
4. The route's prompt playing ("Wir verbinden Sie …"): after a cut it is stopped and the
   call goes on with the route; a fresh process has no snapshot of it and replays the last
   menu (the caller presses the key again).
5. No snapshot, or one that no longer fits the config (a client or menu removed by a
   reload): the call starts over, as on arrival.

No greeting, `Arrived` or `OriginDecided` again: the call's record has them already.
"""

from __future__ import annotations

from dataclasses import replace

from stadtruf.config import ServiceCenterConfig
from stadtruf.core import menu
from stadtruf.core.callflow import (
    Arrival,
    CallState,
    Effect,
    Emit,
    Hangup,
    Stage,
    Step,
    _annotate,
    _from_menu,
    _queue,
    start,
    step,
)
from stadtruf.core.lifecycle import Ended
from stadtruf.core.menu import CancelDigitTimer, Phase, PromptFinished, StopPrompt
from stadtruf.core.origin import resolve
from stadtruf.core.snapshot import Snapshot

__all__ = ["reconnected", "resume", "snapshot"]

_MENU_STAGES = (Stage.TOWN_MENU, Stage.CLIENT_MENU)


def snapshot(state: CallState) -> Snapshot | None:
    """The call in a menu as a snapshot; None once the menus are over (the queue and the
    conversation keep their own)."""
    current = state.menu_state
    if state.stage not in _MENU_STAGES or current is None or current.done:
        return None
    return Snapshot(
        "menu",
        client=state.client,
        language=current.language,
        chosen_language=state.chosen_language,
        town=state.stage is Stage.TOWN_MENU,
        menu=current.menu_id,
        stack=current.stack,
        prompts_left=max(current.max_prompts - current.prompts_played, 0),
    )


def resume(
    config: ServiceCenterConfig, arrival: Arrival, snap: Snapshot | None, *, first_id: int = 0
) -> Step:
    """The call flow from `snap` on; ids (playbacks, timers) start after `first_id`."""
    if snap is None:
        return start(config, arrival)
    origin = resolve(
        config, dialled=arrival.dialled, caller=arrival.caller, diversion=arrival.diversion
    )
    client = config.clients.get(snap.client) if snap.client is not None else None
    if snap.client is not None and client is None:
        return start(config, arrival)
    center = config.service_center
    state = CallState(
        config,
        arrival,
        origin,
        Stage.TOWN_MENU,
        snap.client,
        chosen_language=snap.chosen_language,
        base=first_id,
    )
    language = snap.language or (client.language if client else center.default_language)
    if client is not None and language not in client.languages:
        language = client.language
    match snap.stage:
        case "queue" if snap.topic is not None:
            # The annotation is on the channel already; the queue needs it for the rings.
            state, _ = _annotate(state, client, snap.topic, language)
            queue = replace(_queue(state, snap.topic, language), queued_at=snap.queued_at)
            done = replace(state, stage=Stage.DONE, route=menu.QueueRoute(snap.topic))
            return done, (queue,)
        case "talking":
            done = replace(state, stage=Stage.DONE, route=menu.HangupRoute("agent gone"))
            return done, (Hangup(), Emit(Ended("agent")))
        case "menu":
            return _resume_menu(state, snap, language)
    return start(config, arrival)


def _resume_menu(state: CallState, snap: Snapshot, language: str) -> Step:
    config, center = state.config, state.config.service_center
    limit = snap.prompts_left if snap.prompts_left is not None else center.max_menu_prompts
    if snap.town or state.client is None:
        tree = center.unknown_caller.town_menu
        if tree is None:
            return start(config, state.arrival)
        stage = Stage.TOWN_MENU
    else:
        own = config.clients[state.client]
        tree, stage = own.menu, Stage.CLIENT_MENU
        state, _ = _annotate(state, own, None, language)  # on the channel already
    menu_state, effects = menu.resume(
        tree, snap.menu or tree.start, language=language, stack=snap.stack, max_prompts=limit
    )
    # Entered before: no second `MenuEntered` for the record's menu path.
    state = replace(state, stage=stage, menu_state=menu_state, menu_entered=menu_state.menu_id)
    return _from_menu(state, (), effects)


def reconnected(state: CallState) -> Step:
    """The event stream was cut and is back: events of the gap may be lost, so the prompt
    running is stopped and the call goes on from its snapshot (rule 1), or past the route's
    prompt (rule 4)."""
    current = state.menu_state
    used = state.base + (current.token if current is not None else 0)
    if state.stage is Stage.ANNOUNCING and state.announce_id is not None:
        after, effects = step(state, PromptFinished(state.announce_id))
        return after, (StopPrompt(state.announce_id), *effects)
    snap = snapshot(state)
    if snap is None or current is None:
        return state, ()
    stops: tuple[Effect, ...] = tuple(StopPrompt(pid) for pid in sorted(state.playing))
    if current.phase is Phase.WAITING:
        stops += (CancelDigitTimer(used),)
    resumed, effects = resume(state.config, state.arrival, snap, first_id=used + 1)
    return resumed, (*stops, *effects)
