"""From the configuration to the core's opening hours: which schedule a call meets.

A call first meets its client's hours (before the menu), then, once a topic is chosen, the
client's and the topic's together: a topic's hours narrow the client's. The topic's hours are
the client's own `topic_hours` entry if there is one, else the topic's `hours` in
service-center.yaml. Public holidays are those of the client's state.
"""

from __future__ import annotations

from stadtruf.config.model import Client, ServiceCenter, WhenClosed
from stadtruf.core.hours import OpeningHours, Schedule


def schedule_for(client: Client, center: ServiceCenter, topic: str | None = None) -> Schedule:
    """The hours for a call to `client` (about `topic`, once known)."""
    layers: list[OpeningHours] = []
    if client.hours is not None:
        layers.append(client.hours.to_core())
    if topic is not None:
        topic_hours = client.topic_hours.get(topic)
        if topic_hours is None and topic in center.topics:
            topic_hours = center.topics[topic].hours
        if topic_hours is not None:
            layers.append(topic_hours.to_core())
    return Schedule(tuple(layers), client.state)


def when_closed_for(
    client: Client, center: ServiceCenter, topic: str | None, client_open: bool
) -> WhenClosed:
    """The closed handling: the topic's own if it is the topic that is closed (the client is
    open), else the client's."""
    if client_open and topic is not None and topic in center.topics:
        own = center.topics[topic].when_closed
        if own is not None:
            return own
    return client.when_closed
