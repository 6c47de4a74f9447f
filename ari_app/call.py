"""One inbound call, from answer to hangup (issue #2's flow: greeting, digits, goodbye).

The menu engine of stadtruf.menu replaces the middle part; what stays is the shape: answer,
play, react to the caller's digits and to playback events, end on hangup, and never leave a
channel behind.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import structlog

from ari_app.application import CallContext
from ari_app.errors import AriNotFound

log = structlog.get_logger(__name__)

_HANGUP_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"})


@dataclass(frozen=True)
class GreetingFlow:
    greeting: tuple[str, ...]  # media URIs
    goodbye: tuple[str, ...]
    digit_wait: float = 8.0
    language: str = "de"

    async def __call__(self, call: CallContext) -> None:
        log.info("call.started", caller=call.caller_number)
        try:
            await call.rest.answer(call.channel_id)
            playback_id = str(uuid.uuid4())
            await call.rest.play(
                call.channel_id, list(self.greeting), playback_id=playback_id, lang=self.language
            )
            playing: str | None = playback_id
            digits: list[str] = []
            while True:
                try:
                    # Waiting for digits starts when the greeting ends.
                    timeout = None if playing else self.digit_wait
                    event = await asyncio.wait_for(call.next_event(), timeout)
                except TimeoutError:
                    break
                if event.type in _HANGUP_EVENTS:
                    log.info("call.caller_hung_up", digits="".join(digits))
                    return
                if event.type == "ChannelDtmfReceived" and event.digit is not None:
                    digits.append(event.digit)
                    log.info("call.digit", digit=event.digit, digits="".join(digits))
                    if playing:  # barge-in: a digit stops the prompt
                        playing = None
                        try:
                            await call.rest.stop_playback(playback_id)
                        except AriNotFound:
                            pass
                elif event.type == "PlaybackFinished" and event.playback_id == playing:
                    playing = None
            log.info("call.goodbye", digits="".join(digits))
            await call.rest.play(call.channel_id, list(self.goodbye), lang=self.language)
            while (event := await call.next_event()).type not in _HANGUP_EVENTS:
                if event.type == "PlaybackFinished":
                    await call.rest.hangup(call.channel_id)
        except AriNotFound:
            log.info("call.gone")  # the caller hung up while we were talking to Asterisk
