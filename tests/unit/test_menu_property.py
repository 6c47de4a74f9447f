"""Property: whatever the caller does, and in whatever order Asterisk reports things, the menu
engine never crashes and every call ends in exactly one route within a bounded number of steps.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from stadtruf.config import MenuTree, load
from stadtruf.core.menu import (
    CallerHungUp,
    CancelDigitTimer,
    DigitPressed,
    DigitTimeout,
    Effect,
    MenuState,
    PlayPrompt,
    PromptFinished,
    Route,
    StartDigitTimer,
    StopPrompt,
    start,
    step,
)

ROOT = Path(__file__).parents[2]
MAX_PROMPTS = 12


def _sample_trees() -> list[MenuTree]:
    trees = []
    for directory in (ROOT / "config", ROOT / "config/examples/kreis-wesel"):
        cfg = load(directory)
        trees += [client.menu for client in cfg.clients.values()]
        town = cfg.service_center.unknown_caller.town_menu
        if town is not None:
            trees.append(town)
    return trees


SAMPLE_TREES = _sample_trees()
NAMES = ["main", "a", "b", "c"]
KEYS = list("0123456789*#")


def _action(names: list[str]) -> st.SearchStrategy[Any]:
    # Includes targets that do not exist: the engine must survive unvalidated trees too.
    target = st.sampled_from([*names, "missing"])
    return st.one_of(
        st.builds(lambda t: {"submenu": t}, target),
        st.builds(lambda t: {"language": "en", "submenu": t}, target),
        st.just({"queue": "kfz"}),
        st.just({"transfer": "0281 207-0"}),
        st.just({"announce": "Tschüss"}),
        st.just({"client": "bottrop"}),
        st.sampled_from(["back", "repeat", "hangup"]),
    )


@st.composite
def random_trees(draw: st.DrawFn) -> MenuTree:
    names = NAMES[: draw(st.integers(1, len(NAMES)))]
    menus = {
        name: {
            "prompt": f"Menü {name}",
            "options": draw(st.dictionaries(st.sampled_from(KEYS), _action(names), max_size=5)),
            "retries": draw(st.integers(0, 3)),
            "timeout": draw(st.sampled_from([1, 5])),
            "barge_in": draw(st.booleans()),
            "default": draw(st.one_of(st.none(), _action(names))),
        }
        for name in names
    }
    return MenuTree.model_validate({"menus": menus})


trees = st.one_of(st.sampled_from(SAMPLE_TREES), random_trees())


class Call:
    """Runs the engine and checks the protocol on every step."""

    def __init__(self, tree: MenuTree) -> None:
        self.routes: list[Route] = []
        self.plays = 0
        self.last_id = 0
        self.state, effects = start(tree, language="de", max_prompts=MAX_PROMPTS)
        self._check(self.state, effects)

    def send(self, event: Any) -> None:
        before = self.state
        self.state, effects = step(self.state, event)
        if before.done:
            assert effects == () and self.state == before
        for effect in effects:
            if isinstance(effect, StopPrompt | CancelDigitTimer):
                pending = effect.playback_id if isinstance(effect, StopPrompt) else effect.timer_id
                assert pending == before.token  # only ever stop what is running
        self._check(self.state, effects)

    def _check(self, state: MenuState, effects: tuple[Effect, ...]) -> None:
        for i, effect in enumerate(effects):
            if isinstance(effect, Route):
                assert i == len(effects) - 1, "the route is always the last effect"
                self.routes.append(effect)
            if isinstance(effect, PlayPrompt | StartDigitTimer):
                new_id = effect.playback_id if isinstance(effect, PlayPrompt) else effect.timer_id
                assert new_id > self.last_id  # ids are fresh, so stale events are detectable
                self.last_id = new_id
            if isinstance(effect, PlayPrompt):
                self.plays += 1
                assert effect.prompts
        assert len(self.routes) <= 1
        assert state.done == bool(self.routes)
        assert self.plays <= MAX_PROMPTS


def _event(data: st.DataObject, state: MenuState) -> Any:
    kind = data.draw(
        st.sampled_from(["digit", "finished", "timeout", "stale", "hangup"]), label="kind"
    )
    if kind == "digit":
        return DigitPressed(data.draw(st.sampled_from([*KEYS, "A", "D", "", "12"]), label="key"))
    if kind == "finished":
        return PromptFinished(state.token)
    if kind == "timeout":
        return DigitTimeout(state.token)
    if kind == "stale":
        stale = data.draw(st.integers(-1, state.token + 3).filter(lambda i: i != state.token))
        return data.draw(st.sampled_from([PromptFinished(stale), DigitTimeout(stale)]))
    return CallerHungUp()


@settings(max_examples=400, deadline=None)
@given(tree=trees, data=st.data())
def test_any_caller_any_timing_ends_in_one_route(tree: MenuTree, data: st.DataObject) -> None:
    call = Call(tree)
    for _ in range(data.draw(st.integers(0, 60), label="events")):
        call.send(_event(data, call.state))

    # Then the caller stays silent and Asterisk reports everything on time: the call must end,
    # within two events per prompt that may still be played.
    budget = 2 * (MAX_PROMPTS - call.plays) + 2
    steps = 0
    while not call.state.done:
        assert steps <= budget, "menu did not end"
        state = call.state
        event = PromptFinished(state.token) if state.phase.value == "playing" else None
        call.send(event or DigitTimeout(state.token))
        steps += 1
    assert len(call.routes) == 1
    assert call.state.route == call.routes[0]
