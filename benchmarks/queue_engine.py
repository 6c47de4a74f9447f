"""The queue engine's cost per event at a large service center's scale.

    .venv/bin/python -m benchmarks.queue_engine [--agents 75] [--waiting 300] [--events 2000]

Every ring, answer, announcement and timer of every call goes through one `step` on the
adapter's single worker task, so the cost of a step bounds how many calls the queue can take.
This drives the pure engine (no Asterisk) with `--agents` agents (six topics, one main skill
each plus all topics at a lower level) twice, in the same run:

- baseline: no caller waiting (every agent busy, the line empty) — the cost of a step itself;
- loaded: `--waiting` callers waiting in all topics, with `leave_when_empty` on (the most
  expensive setting: every step checks every caller's queue is still staffed).

It reports microseconds per step (median of the events) and the loaded/baseline ratio, and the
headroom: steps per second the loaded engine can take, against the event rate of Duisburg's
peak (about 1 million calls a year, taken as 0.5 calls/s in the busiest hour, ~10 engine
events per call). Results go to docs/benchmarks.md by hand.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from stadtruf.config.agents import AgentsConfig
from stadtruf.core import queue as q

TOPICS = ("vermittlung", "kfz", "pass", "abfall", "elterngeld", "buergerbuero")
PEAK_EVENTS_PER_S = 0.5 * 10


def config(agents: int) -> AgentsConfig:
    return AgentsConfig.model_validate(
        {
            "defaults": {
                "max_wait": 600,
                "overflow": {"callback": True},
                "announce_every": 60,
                "leave_when_empty": True,
            },
            "agents": [
                {
                    "id": f"agent-{i}",
                    "name": f"Agent {i}",
                    "skills": [{"topic": TOPICS[i % len(TOPICS)]}, {"topic": "*", "level": 5}],
                }
                for i in range(agents)
            ],
        }
    )


def busy_center(agents: int) -> tuple[q.QueueState, float]:
    """Every agent logged in, registered and in a call: nobody can be rung."""
    state = q.new_queue(config(agents))
    now = 1.0
    for i in range(agents):
        state, _ = q.step(state, q.AgentLoggedIn(f"agent-{i}", now=now))
        state, _ = q.step(state, q.AgentRegistered(f"agent-{i}", now=now))
    for i in range(agents):
        state, effects = q.step(state, q.CallerJoined(f"talk-{i}", TOPICS[i % 6], "x", now=now))
        for effect in effects:
            if isinstance(effect, q.RingAgent):
                state, _ = q.step(state, q.RingAnswered(effect.agent, effect.call, now=now))
    return state, now


def measure(state: q.QueueState, now: float, events: int, seed: int) -> list[float]:
    """Seconds per step for a mix of joins, hang-ups and ticks (the line keeps its length)."""
    rng = random.Random(seed)
    times: list[float] = []
    waiting = [c for c in state.callers if not c.startswith("talk-")]
    for n in range(events):
        now += 0.05
        if waiting and n % 2:
            event: q.Event = q.CallerLeft(waiting.pop(rng.randrange(len(waiting))), now=now)
        elif n % 2:
            event = q.Tick(now=now)
        else:
            call = f"new-{n}"
            waiting.append(call)
            event = q.CallerJoined(call, rng.choice(TOPICS), rng.choice(("a", "b")), now=now)
        start = time.perf_counter()
        state, _ = q.step(state, event)
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=75)
    parser.add_argument("--waiting", type=int, default=300)
    parser.add_argument("--events", type=int, default=2000)
    args = parser.parse_args(argv)

    base_state, now = busy_center(args.agents)
    baseline = statistics.median(measure(base_state, now, args.events, seed=1))

    loaded_state = base_state
    for i in range(args.waiting):
        loaded_state, _ = q.step(
            loaded_state, q.CallerJoined(f"wait-{i}", TOPICS[i % 6], "a", now=now)
        )
    loaded = statistics.median(measure(loaded_state, now, args.events, seed=1))

    print(f"agents {args.agents}, waiting callers {args.waiting}, events {args.events}")
    print("| line | µs per step (median) | ratio |")
    print("|---|---|---|")
    print(f"| empty (baseline) | {baseline * 1e6:.0f} | 1.00 |")
    print(f"| {args.waiting} waiting | {loaded * 1e6:.0f} | {loaded / baseline:.2f} |")
    capacity = 1 / loaded
    print(
        f"headroom: {capacity:.0f} steps/s loaded, {capacity / PEAK_EVENTS_PER_S:.0f}× "
        f"Duisburg's peak event rate ({PEAK_EVENTS_PER_S:g}/s)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
