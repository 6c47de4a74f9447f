"""The queue on ARI: rings agents, plays the whisper, bridges caller and agent.

The imperative shell around `stadtruf.core.queue` (the pure engine); the decisions it follows
beyond the engine's are in `stadtruf.core.queue_caller` (what a waiting caller hears and may
do) and `stadtruf.core.queue_rings` (how a ring is made and how its end is read). One
concept per module:

- `distributor` – `CallDistributor`: the engine's worker, the agent controls, the wiring.
- `rings` – ringing agents and reading how a ring ended.
- `endpoints` – the agents' phones: registration and device state.
- `legs` – the agent's leg: answer, conversations adopted after a restart, blind transfer.
- `line` and `waiting` – the waiting callers: holding bridge, announcements, overflow.
- `callbacks` – callback requests and voicemail.
- `conversation` – whisper, then caller and agent in one bridge, then the end.
- `shared` – what the parts share: REST client, clocks, the engine's inbox, the life sink.

A queued call's life (`stadtruf.core.lifecycle`: `Queued`, `AgentRang`, `RingEnded`,
`AgentAnswered`, `Overflowed`, `CallbackRequested`, `Transferred`, `Ended`) goes to the
injected sink; by default a log line.
"""

from __future__ import annotations

from ari_app.handoff import QueueRequest
from ari_app.queue.conversation import CONVERSATION_PREFIX, Conversation
from ari_app.queue.distributor import CallDistributor
from ari_app.queue.rings import AGENT_LEG
from ari_app.queue.shared import Finished, Sink, log_happened
from stadtruf.core.queue_rings import RING_PREFIX

__all__ = [
    "AGENT_LEG",
    "CONVERSATION_PREFIX",
    "RING_PREFIX",
    "CallDistributor",
    "Conversation",
    "Finished",
    "QueueRequest",
    "Sink",
    "log_happened",
]
