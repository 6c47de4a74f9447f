"""The Stasis application: one ARI connection, one task per call, events in order per call.

Asterisk sends every event of the app over one WebSocket. We route each event to the queue
of the call it belongs to (by channel id), so a slow REST request in one call never delays
another call, and each call sees its own events in the order Asterisk sent them.

After every (re)connect we resynchronise with Asterisk, the store of record: calls that ended
while we were away get the hang-up they missed, calls found in Stasis that we do not know are
adopted (a process before this one left them, with their state on the channel: see
`stadtruf.core.snapshot`), and the calls we still have are told `Resynced`, since the events
of the gap are lost.
On shutdown, calls still with us go back to the dialplan's apology route, so no caller is
left in silence and no channel is left behind. A hand-over (`hand_over`, for a restart) leaves
them in Stasis instead, each with its snapshot, for the next process to adopt.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Protocol

import aiohttp
import structlog

from ari_app.errors import AriError, AriNotFound
from ari_app.events import Event
from ari_app.port import Ari
from ari_app.rest import AriRest
from ari_app.settings import AriSettings
from ari_app.stream import EventStream, OnConnect
from stadtruf.core.menu import DigitTimeout


class CallSignal:
    """A message from inside the app to one call's task (e.g. the queue: an agent answered)."""


class Resynced(CallSignal):
    """The event stream was cut and is back: this call's events of the gap may be lost (the
    end of a prompt, a key), so its handler goes on from what it knows (a call in a menu hears
    the menu again)."""


# What a call handler reads from its queue: Asterisk's events, its own timers firing, and
# signals from the rest of the app, all in one order.
CallInput = Event | DigitTimeout | CallSignal

log = structlog.get_logger(__name__)

# Where a call goes when the app stops while it is still in Stasis (see dialplan/stadtruf.conf).
APOLOGY_CONTEXT = "stadtruf-entry"
APOLOGY_EXTEN = "app-unavailable"

# A caller and an agent talking are in a mixing bridge with this prefix; after a restart its
# members are adopted with the Stasis arguments (ADOPTED_CONVERSATION, bridge id).
CONVERSATION_BRIDGE_PREFIX = "stadtruf-call-"
ADOPTED_CONVERSATION = "conversation"
# Stasis arguments given to a channel that replaces another (REPLACES, replaced channel id).
REPLACES = "replaces"

# Events after which Asterisk no longer knows the channel in our app.
_END_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed"})
# A call that ended while the stream was cut gets its hang-up now, so that its handler ends
# it as usual (the other leg, the record); one that does not finish within this is cancelled.
GONE_GRACE_S = 5.0
# The event types some part of the app reads; Asterisk sends the app no others (the filter
# is set on every connect). Of ~100 events per queued call ~60 were variables set and
# dialplan steps, and most of the rest bridge, state, caller-id and playback-start news that
# nothing reads: Asterisk encoded and sent each, the app decoded each (benchmarks.flow).
# A part that reads a new type adds it here.
HANDLED_EVENTS = (
    "StasisStart",
    "StasisEnd",
    "ChannelDestroyed",
    "ChannelHangupRequest",
    "ChannelDtmfReceived",
    "PlaybackFinished",
    "RecordingFinished",
    "RecordingFailed",
    "EndpointStateChange",
)

CallRunner = Callable[["CallContext"], Awaitable[None]]
EventHook = Callable[[Event], None]
ConnectHook = Callable[[], Awaitable[None]]


class EventSource(Protocol):
    """The app's events, as `EventStream` yields them: `on_connect` runs before each
    (re)connect's first event; iteration ends after `close()`."""

    def __aiter__(self) -> AsyncIterator[Event]: ...

    async def close(self) -> None: ...


# Parallel HTTP connections to ARI (REST requests; the event WebSocket has its own).
ARI_CONNECTIONS = 200

# How the app reaches Asterisk: given the HTTP session, the settings and the resync to run on
# every (re)connect, the REST client and the event source. Tests pass a fake.
Connect = Callable[[aiohttp.ClientSession, AriSettings, OnConnect], tuple[Ari, EventSource]]


def connect_ari(
    session: aiohttp.ClientSession, settings: AriSettings, on_connect: OnConnect
) -> tuple[Ari, EventSource]:
    """The real thing: our ARI REST client and the event WebSocket."""
    rest = AriRest(session, settings.url, settings.user, settings.password)
    stream = EventStream(
        session,
        settings.url,
        settings.app,
        settings.user,
        settings.password,
        on_connect=on_connect,
    )
    return rest, stream


class CallContext:
    """What a call handler gets: the REST client, its channel, and its own event queue."""

    def __init__(self, rest: Ari, channel: dict[str, Any], args: tuple[str, ...]) -> None:
        self.rest = rest
        self.channel = channel
        self.args = args
        self.events: asyncio.Queue[CallInput] = asyncio.Queue()
        self.ended = asyncio.Event()
        # Found in Stasis after a (re)connect, not announced by a StasisStart: it may have been
        # with a process before this one, whose state it carries (core.snapshot).
        self.adopted = False
        # False while the call is in a conversation: on shutdown it stays bridged in Asterisk
        # (cutting citizen and agent off would be worse than a missing app for a moment).
        self.hand_back_on_stop = True

    @property
    def channel_id(self) -> str:
        return str(self.channel["id"])

    @property
    def dialled(self) -> str:
        return str(self.channel.get("dialplan", {}).get("exten", ""))

    @property
    def caller_number(self) -> str:
        return str(self.channel.get("caller", {}).get("number", ""))

    async def next_event(self) -> CallInput:
        return await self.events.get()


class StasisApplication:
    """Runs until `stop()`; `run_call` handles one inbound call from answer to hangup.

    `routes` picks another runner by the first Stasis argument (``agent-leg`` for the
    queue's calls to agents). `on_event` hooks see every event no call task takes (rings not
    yet answered, endpoint state); `on_connect` hooks run after each (re)connect.
    `connect` reaches Asterisk (`connect_ari`, or a fake in tests).
    """

    def __init__(
        self,
        settings: AriSettings,
        run_call: CallRunner,
        *,
        routes: Mapping[str, CallRunner] | None = None,
        connect: Connect = connect_ari,
    ) -> None:
        self.settings = settings
        self._run_call = run_call
        self._routes = dict(routes or {})
        self._connect = connect
        self.on_event: list[EventHook] = []
        self.on_connect: list[ConnectHook] = []
        self.on_stop: list[ConnectHook] = []  # after the calls are handed back
        # On a hand-over, before the calls' tasks are cancelled (e.g. a gate on the sinks).
        self.on_hand_over: list[Callable[[], None]] = []
        self._calls: dict[str, tuple[CallContext, asyncio.Task[None]]] = {}
        self._rest: Ari | None = None
        self._stream: EventSource | None = None
        self._stopping = False
        self._handing_over = False
        self.ready = asyncio.Event()

    @property
    def rest(self) -> Ari:
        """The REST client; exists while `run()` runs."""
        if self._rest is None:
            raise RuntimeError("the Stasis application is not running")
        return self._rest

    @property
    def active_calls(self) -> int:
        return len(self._calls)

    async def run(self) -> None:
        # Fewer connections than Asterisk's http.conf `sessionlimit` (ours: 1000, its default:
        # 100): past it Asterisk accepts and at once closes a connection, and a call's request
        # fails. Requests beyond the pool wait for a free connection instead.
        connector = aiohttp.TCPConnector(limit=ARI_CONNECTIONS)
        async with aiohttp.ClientSession(connector=connector) as session:
            self._rest, self._stream = self._connect(session, self.settings, self._resync)
            if self._stopping:  # asked to stop (or hand over) before there was a stream
                await self._stream.close()
            try:
                async for event in self._stream:
                    self._dispatch(event)
            finally:
                if self._handing_over:
                    await self._let_go_of_calls(session)
                else:
                    await self._hand_back_calls()
                    for hook in self.on_stop:
                        await hook()

    async def stop(self) -> None:
        """Stop taking calls, hand the ones in progress back to the dialplan, close."""
        self._stopping = True
        if self._stream is not None:
            await self._stream.close()

    async def hand_over(self) -> None:
        """Stop for a restart: take no more events, leave every call in Stasis as it is (with
        its snapshot) for the next process to adopt, close. `run()` then returns."""
        self._handing_over = True
        await self.stop()

    # -- event routing -------------------------------------------------------------------

    def _dispatch(self, event: Event) -> None:
        channel_id = event.channel_id
        if event.type == "StasisStart" and channel_id is not None:
            # A channel swapped into one of our bridges by a transfer (a Local channel in place
            # of the transferer) is not a new call: its runner is chosen by REPLACES.
            replaced = (event.raw.get("replace_channel") or {}).get("id")
            args = (REPLACES, str(replaced)) if replaced else event.args
            self._start_call(event.raw["channel"], args)
            return
        if channel_id is None or channel_id not in self._calls:
            for hook in self.on_event:
                hook(event)
            return
        context, _ = self._calls[channel_id]
        context.events.put_nowait(event)
        if event.type in _END_EVENTS:
            context.ended.set()

    def _start_call(
        self, channel: dict[str, Any], args: tuple[str, ...], *, adopted: bool = False
    ) -> None:
        channel_id = str(channel["id"])
        if channel_id in self._calls:
            return
        if self._handing_over:
            return  # in Stasis it waits for the next process, which adopts it
        context = CallContext(self.rest, channel, args)
        context.adopted = adopted
        runner = self._routes.get(args[0], self._run_call) if args else self._run_call
        if self._stopping:
            task = asyncio.create_task(self._send_to_apology(channel_id))
        else:
            task = asyncio.create_task(self._guarded(context, runner))
        self._calls[channel_id] = (context, task)
        task.add_done_callback(lambda _t: self._calls.pop(channel_id, None))

    async def _guarded(self, context: CallContext, runner: CallRunner) -> None:
        """Run the call handler; whatever it raises, the caller is not left in silence."""
        structlog.contextvars.bind_contextvars(
            channel_id=context.channel_id, dialled=context.dialled
        )
        try:
            await runner(context)
        except asyncio.CancelledError:
            raise
        except Exception:
            if self._handing_over:
                return  # a request cut off by the hand-over: the call is the next process's
            log.exception("call.handler_failed")
            if not context.ended.is_set():
                await self._send_to_apology(context.channel_id)

    async def _send_to_apology(self, channel_id: str) -> None:
        try:
            await self.rest.continue_in_dialplan(
                channel_id, context=APOLOGY_CONTEXT, extension=APOLOGY_EXTEN, priority=1
            )
        except AriNotFound:
            return  # the caller hung up meanwhile
        except AriError:
            log.warning("call.apology_failed_hanging_up", channel_id=channel_id)
            with contextlib.suppress(AriError):
                await self.rest.hangup(channel_id)

    # -- resync and shutdown -------------------------------------------------------------

    async def _resync(self) -> None:
        """Asterisk is the store of record: align our calls with its channels in Stasis."""
        # Only the event types the app reads (HANDLED_EVENTS), per connection. First: the
        # calls adopted below may start before the connect hooks run (the queue's runners wait
        # for its connection: `Shared.wait_connected`).
        try:
            await self.rest.filter_events(self.settings.app, allowed=HANDLED_EVENTS)
        except AriError as error:  # only costlier without it: the app ignores those events
            log.warning("app.event_filter_failed", error=str(error))
        channels = await self.rest.list_channels()
        in_app = {
            str(ch["id"]): ch
            for ch in channels
            if ch.get("dialplan", {}).get("app_name") == "Stasis"
            and str(ch.get("dialplan", {}).get("app_data", "")).split(",")[0] == self.settings.app
        }
        loop = asyncio.get_running_loop()
        for channel_id, (context, task) in list(self._calls.items()):
            if channel_id not in in_app:
                log.info("call.gone_while_disconnected", channel_id=channel_id)
                context.events.put_nowait(_gone(self.settings.app, channel_id))
                context.ended.set()
                loop.call_later(GONE_GRACE_S, task.cancel)
            else:
                context.events.put_nowait(Resynced())
        # Conversations the app left bridged (see CallContext.hand_back_on_stop) are adopted as
        # such, not run through the menu again.
        talking = {
            str(member): str(bridge["id"])
            for bridge in await self.rest.list_bridges()
            if str(bridge.get("id", "")).startswith(CONVERSATION_BRIDGE_PREFIX)
            for member in bridge.get("channels", ())
        }
        for channel_id, channel in in_app.items():
            if channel_id not in self._calls:
                args = tuple(str(channel["dialplan"].get("app_data", "")).split(",")[1:])
                if channel_id in talking:
                    args = (ADOPTED_CONVERSATION, talking[channel_id])
                log.info("call.adopted_after_reconnect", channel_id=channel_id, args=args)
                self._start_call(channel, args, adopted=True)
        for hook in self.on_connect:
            await hook()
        self.ready.set()

    async def _let_go_of_calls(self, session: aiohttp.ClientSession) -> None:
        """The hand-over: the calls stay in Asterisk, untouched, for the next process.

        Their tasks are cancelled, and what a task does when cancelled must not reach the call:
        the hooks close the sinks first (its `Ended` is not the call's end), and the closed
        session refuses every request (`AriUnavailable`: no bridge left, nothing hung up). The
        queue stops before the calls' tasks, so it does not see them leave either.
        """
        for gate in self.on_hand_over:
            gate()
        await session.close()
        for hook in self.on_stop:
            await hook()
        calls = list(self._calls.values())
        for _, task in calls:
            task.cancel()
        for _, task in calls:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        # Channels, not calls: a conversation is two (caller and agent).
        log.info("app.restarting", channels=len(calls))

    async def _hand_back_calls(self) -> None:
        calls = list(self._calls.values())
        for _, task in calls:
            task.cancel()
        for context, task in calls:
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if not context.ended.is_set() and context.hand_back_on_stop:
                await self._send_to_apology(context.channel_id)
        if calls:
            log.info("app.calls_handed_back", count=len(calls))


def _gone(app: str, channel_id: str) -> Event:
    """The hang-up a call missed while the stream was cut (no cause: Asterisk's is lost)."""
    raw = {"type": "ChannelDestroyed", "application": app, "channel": {"id": channel_id}}
    return Event("ChannelDestroyed", app, None, raw)
