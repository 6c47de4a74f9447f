"""Test support: prove that audio really flows through a call, with a tone and a detector.

One end plays a sine tone over ARI (a ``tone:`` playback); the Asterisk at the other end
listens with res_tonedetect's ``TONE_DETECT`` function on its channel, set and read as a
channel variable over ARI. Both ends are ordinary Stasis channels of the test Asterisks (the
citizen's leg in the carrier, the agent's phone leg in the phones instance): a channel in
Stasis keeps reading its RTP even outside a bridge, so no dialplan or bridge is needed there.

Arm first, then play, then ask; the detector counts every tone it heard since it was armed,
so the order cannot race::

    await listen_for_tone(phones.rest, phone, 1004)
    await send_tone(carrier.rest, citizen, 1004, 1.0)
    assert await wait_for_tone(phones.rest, phone, 1004, timeout=2.0)

or, for one direction in one call, ``assert await tone_passes(...)``.
``TONE_DETECT(hz,ms,r)`` counts a tone of at least `ms` received from the far end; the
channel's own playback (the transmit direction) is never counted. A tone that lasts counts
once. Detection takes about `min_ms` (+ ~10 ms) after the tone starts to arrive.

Test the two directions one after the other, never at the same time: while a channel plays
a ``tone:`` it reads its incoming audio with ast_read_noaudio (main/file.c,
ast_control_tone), so its own detector hears nothing. (A sound file or music on hold on the
listening channel does not get in the way.)

Known trap (Asterisk 22.10): when the ServiceCenter sent a leg audio of its own (music on
hold, a prompt) and then bridges it natively (``native_rtp``), that leg's test Asterisk gets
the other leg's packets relayed as they are (its sequence numbers and timestamps) after the
ServiceCenter's own stream, and in most such calls (2-4 of 5 in trials) it then drops that
audio for the rest of the call: RTP arrives, the channel reads silence. A bridge of type
``mixing,proxy_media`` (the ServiceCenter re-sends the media) did not show it in 5 of 5.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid

from ari_app.errors import AriNotFound
from ari_app.port import Ari

__all__ = [
    "ToneDetectorNotArmed",
    "listen_for_tone",
    "send_tone",
    "tone_passes",
    "tones_heard",
    "wait_for_tone",
]

# The frequency the channel's detector was armed for. Reading TONE_DETECT on a channel without
# a detector fails with HTTP 500 ("Unable to read provided function"), and removing a detector
# that is not there logs a WARNING: this variable says whether there is one, and for what.
ARMED_VAR = "STADTRUF_TONE_DETECT_HZ"
_POLL = 0.05


class ToneDetectorNotArmed(RuntimeError):
    """wait_for_tone/tones_heard without a listen_for_tone for that frequency first."""


def _check(hz: int, seconds: float | None = None) -> None:
    if not 100 <= hz <= 3400:
        raise ValueError(f"tone must be within the telephone band (100-3400 Hz), got {hz}")
    if seconds is not None and not 0.1 <= seconds <= 60:
        raise ValueError(f"tone length must be 0.1-60 s, got {seconds}")


async def listen_for_tone(rest: Ari, channel_id: str, hz: int, *, min_ms: int = 500) -> None:
    """Arm a detector for `hz` on the channel's received audio, with its count at zero.

    One detector per channel: arming again (another frequency, or the same to reset the count)
    replaces the previous one. Arm after the legs are bridged (music on hold or prompts before
    could hold a matching note) and before the tone starts.
    """
    _check(hz)
    if await rest.get_var(channel_id, ARMED_VAR):
        # Re-setting TONE_DETECT on a channel keeps its count; removing it (x) resets it.
        await rest.set_var(channel_id, "TONE_DETECT(0,,x)", "")
    # r: received frames only. (Without options res_tonedetect also listens on rx only, but
    # with any other option on both directions, and then it hears its own channel's playback.)
    await rest.set_var(channel_id, f"TONE_DETECT({hz},{min_ms},r)", "")
    await rest.set_var(channel_id, ARMED_VAR, str(hz))


async def tones_heard(rest: Ari, channel_id: str, hz: int) -> int:
    """How many `hz` tones the channel received since `listen_for_tone`."""
    armed = await rest.get_var(channel_id, ARMED_VAR)
    if armed != str(hz):
        detail = f"armed for {armed} Hz" if armed else "no detector"
        raise ToneDetectorNotArmed(
            f"{channel_id}: {detail}; call listen_for_tone(..., {hz}) before the tone"
        )
    value = await rest.get_var(channel_id, "TONE_DETECT(rx)")
    return int(value or 0)


async def wait_for_tone(
    rest: Ari,
    channel_id: str,
    hz: int,
    timeout: float,
) -> bool:
    """True once the armed detector heard `hz`; False if it did not within `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        if await tones_heard(rest, channel_id, hz) > 0:
            return True
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(_POLL)


async def send_tone(rest: Ari, channel_id: str, hz: int, seconds: float) -> str:
    """Play `hz` for `seconds` to the far end of the channel; return its playback id.

    Returns when the tone is over. A ``tone:`` playback never finishes by itself (it stays
    "playing", silent, and would hold back the channel's next playback), so it is stopped
    here; ``!`` makes the sound itself end after `seconds` even if the stop is lost. A
    playback already running on the channel would delay the tone: ARI queues playbacks.
    """
    _check(hz, seconds)
    playback_id = f"tone-{uuid.uuid4()}"
    await rest.play(channel_id, f"tone:!{hz}/{round(seconds * 1000)}", playback_id=playback_id)
    try:
        await asyncio.sleep(seconds)
    finally:
        with contextlib.suppress(AriNotFound):  # the channel hung up meanwhile
            await rest.stop_playback(playback_id)
    return playback_id


async def tone_passes(
    source: Ari,
    source_channel: str,
    sink: Ari,
    sink_channel: str,
    hz: int,
    *,
    seconds: float = 1.0,
    grace: float = 1.0,
    min_ms: int = 500,
) -> bool:
    """Does a tone played on `source_channel` reach `sink_channel`? (arm, play, wait)

    Takes `seconds` (+ up to `grace` for late packets when nothing arrives); the negative
    answer therefore costs `seconds + grace`.
    """
    if seconds * 1000 < min_ms + 200:
        raise ValueError(f"a {seconds} s tone is too short for a {min_ms} ms detector")
    await listen_for_tone(sink, sink_channel, hz, min_ms=min_ms)
    await send_tone(source, source_channel, hz, seconds)
    return await wait_for_tone(sink, sink_channel, hz, grace)
