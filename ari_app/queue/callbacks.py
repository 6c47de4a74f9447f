"""Callbacks and voicemail: the caller leaves a request (and maybe a message) instead of waiting.

The rules (who may ask, which number, how short a message is none) are in
`stadtruf.core.queue_caller`; here they are carried out: prompts, the recording, and the
request in the callback list (`stadtruf.store.callbacks`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import structlog

from ari_app.call import CallerGone
from ari_app.errors import AriError, AriNotFound
from ari_app.events import Event
from ari_app.handoff import HANGUP_EVENTS
from ari_app.queue.shared import Shared, hangup_cause
from stadtruf.config.agents import OverflowVoicemail
from stadtruf.core.lifecycle import CallbackRequested
from stadtruf.core.queue_caller import (
    CALLBACK_DIGIT,
    CALLBACK_OFFER_TIMEOUT,
    VOICEMAIL_END_DIGIT,
    VOICEMAIL_SETTLE_S,
    VOICEMAIL_SILENCE_S,
    callback_plan,
    voicemail_end_within_s,
    voicemail_kept,
    voicemail_max_duration_s,
)
from stadtruf.core.queue_prompts import (
    callback_confirmed,
    callback_offer,
    callback_unavailable,
    voicemail_prompt,
    voicemail_saved,
)
from stadtruf.store.callbacks import CallbackRequest, CallbackStore

if TYPE_CHECKING:
    from ari_app.queue.waiting import WaitingCaller

log = structlog.get_logger(__name__)

VOICEMAIL_PREFIX = "stadtruf-vm-"  # recording names; Asterisk stores them as <name>.wav


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


class CallbackDesk:
    def __init__(
        self,
        shared: Shared,
        store: CallbackStore | None,
        new_id: Callable[[], str] = _new_id,
    ) -> None:
        self.shared = shared
        self.store = store
        self._new_id = new_id

    async def take_callback(self, caller: WaitingCaller, *, keep_place: bool) -> bool:
        """Record a callback request. `keep_place`: the caller pressed 1 while waiting.

        At the maximum wait the caller is asked first, and a caller who does not press 1 is
        told goodbye. Without a number to call back, the caller keeps waiting (while waiting)
        or hears the apology. True when the call is over.
        """
        language = caller.request.language
        plan = callback_plan(caller.request.caller_number, while_waiting=keep_place)
        sorry = [t.media_uri for t in callback_unavailable(language)]
        match plan.step:
            case "apologise_and_wait":
                await caller.play(sorry)
                return False
            case "apologise_and_hang_up":
                await caller.leave_holding()
                await caller.play_to_end(sorry)
                await caller.hang_up()
                return True
            case "ask":
                await caller.leave_holding()
                digit = await caller.play_to_end(
                    [t.media_uri for t in callback_offer(language)],
                    digits=CALLBACK_DIGIT,
                    wait_after=CALLBACK_OFFER_TIMEOUT,
                )
                if digit != CALLBACK_DIGIT:
                    log.info("call.callback_declined")
                    await caller.hang_up()
                    return True
            case "confirm":
                await caller.leave_holding()
                # Out of the line before the confirmation plays: nobody may ring for them now.
                caller.leave_line()
        await self.store_request(caller, plan.number or "")
        await caller.play_to_end([t.media_uri for t in callback_confirmed(language)])
        await caller.hang_up()
        return True

    async def take_voicemail(self, caller: WaitingCaller, action: OverflowVoicemail) -> None:
        """Prompt, beep, record until #, silence, the maximum length or a hang-up; then the
        message goes into the callback list like a callback request, with the recording.

        A caller who hangs up during the message has still left it: the part recorded so far
        is kept (Asterisk closes the file on the hang-up). If Asterisk cannot record, the
        caller is not lost either: a plain callback request is stored instead.
        """
        rest, language = self.shared.rest, caller.request.language
        await caller.leave_holding()
        await caller.play_to_end([t.media_uri for t in voicemail_prompt(language)])
        name = f"{VOICEMAIL_PREFIX}{self._new_id()}"
        structlog.contextvars.bind_contextvars(recording=name)
        try:
            await rest.record(
                caller.id,
                name,
                max_duration_s=voicemail_max_duration_s(action.max_length),
                max_silence_s=VOICEMAIL_SILENCE_S,
                beep=True,
                terminate_on=VOICEMAIL_END_DIGIT,
            )
        except AriNotFound:
            caller.ends("caller")
            raise CallerGone from None
        except AriError as exc:
            # E.g. no spool/recording directory in this Asterisk (ARI answers 500).
            log.error("call.voicemail_unavailable", error=str(exc))
            await self.take_callback(caller, keep_place=False)
            return
        log.info("call.voicemail_recording")
        stored, seconds, hung_up = await self._recording_done(caller, name, action.max_length)
        if not voicemail_kept(stored, seconds):
            log.info("call.voicemail_empty", seconds=seconds)
            with contextlib.suppress(AriError):
                await rest.delete_stored_recording(name)
        else:
            number = callback_plan(caller.request.caller_number, while_waiting=False).number
            await self.store_request(caller, number or "", recording=(name, seconds))
        if hung_up:
            return
        await caller.play_to_end([t.media_uri for t in voicemail_saved(language)])
        await caller.hang_up()

    async def _recording_done(
        self, caller: WaitingCaller, name: str, max_length: float
    ) -> tuple[bool, float | None, bool]:
        """Wait for the recording `name` to end: whether Asterisk stored it, its length in
        seconds (None: unknown) and whether the caller hung up."""
        rest, clock, call = self.shared.rest, self.shared.clock, caller.call
        deadline = clock() + voicemail_end_within_s(max_length)
        hung_up = False
        while True:
            try:
                item = await asyncio.wait_for(call.next_event(), deadline - clock())
            except TimeoutError:
                break  # no end event (lost, or after the channel was gone): ask for the file
            if not isinstance(item, Event):
                continue
            if item.type in HANGUP_EVENTS and not hung_up:
                hung_up = True
                caller.ends("caller", hangup_cause(item))
                deadline = min(deadline, clock() + VOICEMAIL_SETTLE_S)
            elif item.recording_name == name and item.type == "RecordingFinished":
                duration = item.raw.get("recording", {}).get("duration")
                seconds = float(duration) if isinstance(duration, int | float) else None
                return True, seconds, hung_up
            elif item.recording_name == name and item.type == "RecordingFailed":
                log.warning("call.voicemail_failed", cause=item.raw.get("recording", {}))
                break
        if not hung_up:
            with contextlib.suppress(AriError):
                await rest.stop_recording(name)
        try:
            await rest.get_stored_recording(name)
        except AriError:
            return False, None, hung_up
        return True, None, hung_up

    async def store_request(
        self,
        caller: WaitingCaller,
        number: str,
        *,
        recording: tuple[str, float | None] | None = None,
    ) -> None:
        shared, request = self.shared, caller.request
        record = CallbackRequest(
            id=self._new_id(),
            number=number,
            client=request.client_id or "",
            topic=caller.topic,
            language=request.language,
            requested_at=shared.now().isoformat(timespec="seconds"),
            queued_at=caller.queued_at.isoformat(timespec="seconds"),
            waited_s=round(shared.clock() - caller.arrived, 1),
            status="open",
            done_by=None,
            recording=recording[0] if recording else None,
            recording_s=recording[1] if recording else None,
        )
        if self.store is not None:
            # A file append with fsync: off the event loop.
            await asyncio.to_thread(self.store.add, record)
        shared.tell(caller.id, CallbackRequested("voicemail" if recording else "callback"))
        log.info(
            "call.callback_stored",
            callback=record.id,
            number=number,
            kind=record.kind,
            seconds=record.recording_s,
        )


__all__ = ["VOICEMAIL_PREFIX", "CallbackDesk"]
