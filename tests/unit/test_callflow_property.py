"""Property: whatever the caller does and whenever Asterisk reports it, every call through the
call flow ends with exactly one route (or the caller's hang-up) within a bounded number of
steps, and its life events tell that story once, in order.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stadtruf.config import ServiceCenterConfig, load
from stadtruf.core.callflow import (
    FINAL,
    Arrival,
    CallState,
    Effect,
    Emit,
    PlayToEnd,
    Queue,
    start,
    step,
)
from stadtruf.core.lifecycle import Arrived, Ended, OriginDecided, RouteChosen
from stadtruf.core.menu import (
    CallerHungUp,
    CancelDigitTimer,
    DigitPressed,
    DigitTimeout,
    PlayPrompt,
    PromptFinished,
    StartDigitTimer,
    StopPrompt,
)

ROOT = Path(__file__).parents[2]
CONFIGS = [load(ROOT / "config"), load(ROOT / "config/examples/kreis-wesel")]
KEYS = [*"0123456789*#", "A", ""]


@st.composite
def arrivals(draw: st.DrawFn, cfg: ServiceCenterConfig) -> Arrival:
    numbers = [*cfg.switchboards, *cfg.service_center.service_numbers, "0800123", ""]
    codes = [code for client in cfg.clients.values() for code in client.area_codes]
    callers = [*(f"{code}555123" for code in codes), "anonymous", "", "+31201234567", "0711123"]
    return Arrival(
        dialled=draw(st.sampled_from(numbers)),
        caller=draw(st.sampled_from(callers)),
        diversion=draw(st.sampled_from([None, None, *cfg.switchboards])),
        caller_name=draw(st.sampled_from(["", "Erika Mustermann", "[BOT] Alt · Max"])),
    )


class Call:
    """Runs the flow and checks its protocol on every step."""

    def __init__(self, cfg: ServiceCenterConfig, arrival: Arrival) -> None:
        self.effects: list[Effect] = []
        self.started: set[int] = set()  # playback and timer ids handed out
        self.last_id = 0
        self.playing: int | None = None  # the runtime's view: what plays, what times
        self.timing: int | None = None
        self.state, effects = start(cfg, arrival)
        self._check(self.state, effects)

    def send(self, event: Any) -> None:
        before = self.state
        self.state, effects = step(before, event)
        if before.done:
            assert effects == () and self.state == before, "nothing happens after the end"
        self._check(self.state, effects)

    def _check(self, state: CallState, effects: tuple[Effect, ...]) -> None:
        for effect in effects:
            if isinstance(effect, PlayPrompt | StartDigitTimer | PlayToEnd):
                new = effect.timer_id if isinstance(effect, StartDigitTimer) else effect.playback_id
                assert new > self.last_id, "ids are fresh, so stale events are detectable"
                self.last_id = new
                self.started.add(new)
            if isinstance(effect, PlayPrompt | PlayToEnd):
                self.playing, self.timing = effect.playback_id, None
            if isinstance(effect, StartDigitTimer):
                self.playing, self.timing = None, effect.timer_id
            if isinstance(effect, StopPrompt | CancelDigitTimer):
                old = effect.playback_id if isinstance(effect, StopPrompt) else effect.timer_id
                assert old in self.started, "only ever stop what was started"
        self.effects += effects
        finals = [e for e in self.effects if isinstance(e, FINAL)]
        assert len(finals) <= 1
        if finals:
            assert state.done and finals[0] is self.effects[-1 - self._emits_after(finals[0])]

    def _emits_after(self, final: Effect) -> int:
        return len(self.effects) - 1 - self.effects.index(final)

    @property
    def life(self) -> list[Any]:
        return [e.event for e in self.effects if isinstance(e, Emit)]


def _event(data: st.DataObject, call: Call) -> Any:
    kind = data.draw(
        st.sampled_from(["digit", "finished", "timeout", "stale", "hangup"]), label="kind"
    )
    if kind == "digit":
        return DigitPressed(data.draw(st.sampled_from(KEYS), label="key"))
    if kind == "finished":
        return PromptFinished(call.playing or call.last_id)
    if kind == "timeout":
        return DigitTimeout(call.timing or call.last_id)
    if kind == "stale":
        stale = data.draw(st.integers(-1, call.last_id + 3), label="stale id")
        return data.draw(st.sampled_from([PromptFinished(stale), DigitTimeout(stale)]))
    return CallerHungUp(data.draw(st.sampled_from([None, 16, 17])))


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_caller_any_timing_ends_in_one_route(data: st.DataObject) -> None:
    cfg = data.draw(st.sampled_from(CONFIGS), label="config")
    call = Call(cfg, data.draw(arrivals(cfg), label="arrival"))
    for _ in range(data.draw(st.integers(0, 60), label="events")):
        call.send(_event(data, call))

    # Then the caller stays silent and Asterisk reports everything on time: the call ends,
    # within two events per prompt the call may still play (and the route's prompt).
    budget = 2 * cfg.service_center.max_menu_prompts + 3
    for _ in range(budget):
        if call.state.done:
            break
        if call.playing is not None:
            call.send(PromptFinished(call.playing))
        else:
            assert call.timing is not None, "an open call waits for a prompt or a timer"
            call.send(DigitTimeout(call.timing))
    assert call.state.done, "the call did not end"

    life = call.life
    assert isinstance(life[0], Arrived) and isinstance(life[1], OriginDecided)
    assert sum(isinstance(e, Arrived | OriginDecided) for e in life) == 2
    finals = [e for e in call.effects if isinstance(e, FINAL)]
    ended = [e for e in life if isinstance(e, Ended)]
    routes = [e for e in life if isinstance(e, RouteChosen) and e.kind != "client"]
    assert len(routes) <= 1
    if finals:
        assert routes, "a route is chosen before it is taken"
        # The queue tells the rest of the story (queued, rang, answered … ended).
        assert len(ended) == (0 if isinstance(finals[0], Queue) else 1)
    else:
        assert ended == [ended[-1]] and ended[0].by == "caller", "no route: the caller left"
    if ended:
        assert life[-1] == ended[0], "the end is the last event"
