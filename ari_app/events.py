"""ARI event model: one small immutable wrapper around the JSON Asterisk sends.

We deliberately keep the whole message in `raw` instead of modelling all ~45 event types from
events.json: the app only needs a handful of fields, and new Asterisk versions add fields and
event types that must pass through untouched. The properties below cover what the call flow
routes on. This module does no I/O so it can be tested (and fuzzed) in isolation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Event", "parse_event"]

# Playback events carry no channel object; the target is a URI like "channel:1700000000.42".
_CHANNEL_TARGET = "channel:"
_BRIDGE_TARGET = "bridge:"


def _object_id(value: Any) -> str | None:
    """`value["id"]` if value is a JSON object with a string id, else None."""
    if isinstance(value, Mapping):
        ident = value.get("id")
        if isinstance(ident, str):
            return ident
    return None


@dataclass(frozen=True, slots=True)
class Event:
    """One ARI message (`Message` in events.json; most are `Event` subtypes).

    `application` and `timestamp` are None only for the rare messages that are not events, such
    as `MissingParams`. `raw` is the full decoded message; treat it as read-only.
    """

    type: str
    application: str | None
    timestamp: str | None
    raw: dict[str, Any] = field(repr=False, hash=False, compare=True)

    @property
    def channel_id(self) -> str | None:
        """The channel this event is about.

        `channel.id` for channel events, `peer.id` for `Dial` (its `caller` may be absent), and
        the target channel of Playback and Recording events, so a call handler keyed by
        channel id also gets the `PlaybackFinished` of its own announcements and the
        `RecordingFinished` of its own voicemail.
        """
        ident = _object_id(self.raw.get("channel"))
        if ident is None and self.type == "Dial":
            ident = _object_id(self.raw.get("peer"))
        if ident is None:
            ident = self._playback_target(_CHANNEL_TARGET)
        return ident

    @property
    def bridge_id(self) -> str | None:
        """`bridge.id`, or the target bridge of a Playback event played into a bridge."""
        ident = _object_id(self.raw.get("bridge"))
        if ident is None:
            ident = self._playback_target(_BRIDGE_TARGET)
        return ident

    @property
    def playback_id(self) -> str | None:
        """`playback.id` of Playback{Started,Continuing,Finished} events."""
        return _object_id(self.raw.get("playback"))

    @property
    def recording_name(self) -> str | None:
        """`recording.name` of Recording{Started,Finished,Failed} events."""
        recording = self.raw.get("recording")
        if isinstance(recording, Mapping) and isinstance(recording.get("name"), str):
            return str(recording["name"])
        return None

    @property
    def digit(self) -> str | None:
        """The DTMF digit of a `ChannelDtmfReceived` event (one of 0-9, A-D, *, #)."""
        if self.type != "ChannelDtmfReceived":
            return None
        digit = self.raw.get("digit")
        return digit if isinstance(digit, str) else None

    @property
    def args(self) -> tuple[str, ...]:
        """The `Stasis(app,arg1,arg2,...)` arguments of a `StasisStart`; empty otherwise."""
        if self.type != "StasisStart":
            return ()
        args = self.raw.get("args")
        if not isinstance(args, list):
            return ()
        return tuple(str(a) for a in args)

    def _playback_target(self, prefix: str) -> str | None:
        playback = self.raw.get("playback")
        if not isinstance(playback, Mapping):
            playback = self.raw.get("recording")  # LiveRecording has the same target_uri
        if not isinstance(playback, Mapping):
            return None
        target = playback.get("target_uri")
        if isinstance(target, str) and target.startswith(prefix) and len(target) > len(prefix):
            return target[len(prefix) :]
        return None


def parse_event(data: str | bytes | Mapping[str, Any]) -> Event:
    """Build an `Event` from a WebSocket text frame or an already decoded JSON object.

    Raises ValueError (with a short excerpt of the input) for anything that is not a JSON object
    with a non-empty string `type`, so the stream can log and skip the frame.
    """
    if isinstance(data, str | bytes | bytearray):
        try:
            decoded = json.loads(data)
        except (ValueError, RecursionError) as exc:  # JSONDecodeError, UnicodeDecodeError
            raise ValueError(f"ARI event is not valid JSON ({exc}): {_excerpt(data)}") from None
    else:
        decoded = data
    if not isinstance(decoded, Mapping):
        raise ValueError(
            f"ARI event must be a JSON object, got {type(decoded).__name__}: {_excerpt(data)}"
        )
    event_type = decoded.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise ValueError(f"ARI event has no 'type' string: {_excerpt(data)}")
    application = decoded.get("application")
    timestamp = decoded.get("timestamp")
    for name, value in (("application", application), ("timestamp", timestamp)):
        if value is not None and not isinstance(value, str):
            raise ValueError(
                f"ARI event {event_type!r}: {name!r} must be a string, got {type(value).__name__}"
            )
    return Event(type=event_type, application=application, timestamp=timestamp, raw=dict(decoded))


def _excerpt(data: object, limit: int = 120) -> str:
    if isinstance(data, bytes | bytearray):
        data = data.decode("utf-8", "replace")
    text = repr(data)
    return text if len(text) <= limit else text[:limit] + "…"
