"""One inbound call, from answer to hand-off: origin, menu, annotation, route.

This is the imperative shell around the pure core: `stadtruf.core.origin` decides the
client, `stadtruf.core.menu` decides what to play and where the call goes,
`stadtruf.core.annotation` decides how the call is marked. Here we only translate ARI
events into menu events and menu effects into ARI requests, in order, for one call.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from ari_app.application import CallContext
from ari_app.errors import AriNotFound
from ari_app.events import Event
from ari_app.handoff import QueueHandoff, QueueRequest
from stadtruf.config.load import ServiceCenterConfig
from stadtruf.config.model import Client, MenuTree, Prompt
from stadtruf.core import menu
from stadtruf.core.annotation import Annotation, annotate, header_variable
from stadtruf.core.numbers import normalize
from stadtruf.core.origin import OriginDecision, dialled_kind, resolve
from stadtruf.core.prompts import media_uri

log = structlog.get_logger(__name__)

_HANGUP_EVENTS = frozenset({"StasisEnd", "ChannelDestroyed", "ChannelHangupRequest"})
# The dialplan context that dials a transfer target with the annotation headers.
TRANSFER_CONTEXT = "stadtruf-transfer"


class CallerGone(Exception):
    """The caller hung up; stop working on this call."""


@dataclass(frozen=True)
class MenuFlow:
    """The call flow for every inbound call; `config()` is read once per call (hot reload)."""

    config: Callable[[], ServiceCenterConfig]
    handoff: QueueHandoff

    async def __call__(self, call: CallContext) -> None:
        config = self.config()  # a reload mid-call must not change this call's menu
        try:
            await _Call(call, config, self.handoff).run()
        except (CallerGone, AriNotFound):
            log.info("call.ended_by_caller")


class _Call:
    def __init__(self, call: CallContext, config: ServiceCenterConfig, handoff: QueueHandoff):
        self.call = call
        self.rest = call.rest
        self.config = config
        self.handoff = handoff
        self.channel_id = call.channel_id
        self.caller_name = str(call.channel.get("caller", {}).get("name", ""))
        self._playbacks: dict[str, int] = {}  # ARI playback id -> menu playback id
        self._timers: dict[int, asyncio.TimerHandle] = {}
        self._decision: OriginDecision | None = None
        self._annotation: Annotation | None = None

    async def run(self) -> None:
        center = self.config.service_center
        decision = self._decision = self._resolve()
        structlog.contextvars.bind_contextvars(
            client=decision.client_id, origin_rule=str(decision.rule)
        )
        log.info("call.origin", reason=decision.reason, caller=self.call.caller_number)
        await self.rest.answer(self.channel_id)
        await self.rest.set_var(self.channel_id, "STADTRUF_ORIGIN_REASON", decision.reason)

        # The service center's greeting leads the town menu; a client's greeting its menu.
        client: Client | None = None
        language = center.default_language
        if decision.client_id is None:
            town_menu = center.unknown_caller.town_menu
            assert town_menu is not None  # resolve() asks only when a town menu exists
            intro = [center.greeting] if center.greeting is not None else []
            route, language = await self._menu(town_menu, language, intro)
            if not isinstance(route, menu.ClientRoute):
                await self._follow(route, None, language)
                return
            client = self.config.clients[route.client_id]
            structlog.contextvars.bind_contextvars(client=client.id)
            log.info("call.town_chosen")
        else:
            client = self.config.clients[decision.client_id]
        language = client.language if language == center.default_language else language
        await self._annotate(client, None, language)
        intro = [client.greeting] if client.greeting is not None else []
        route, language = await self._menu(client.menu, language, intro)
        await self._follow(route, client, language)

    def _resolve(self) -> OriginDecision:
        channel = self.call.channel
        diversion = channel.get("caller_rdnis") or None
        return resolve(
            self.config,
            dialled=self.call.dialled,
            caller=self.call.caller_number,
            diversion=diversion,
        )

    # -- the menu ------------------------------------------------------------------------

    async def _menu(
        self, tree: MenuTree, language: str, intro: list[Prompt]
    ) -> tuple[menu.Route, str]:
        max_prompts = self.config.service_center.max_menu_prompts
        # Engine playback ids restart with each menu run: a late PlaybackFinished of the town
        # menu must not pass for the client menu's first prompt.
        self._playbacks.clear()
        state, effects = menu.start(
            tree, language=language, intro=tuple(intro), max_prompts=max_prompts
        )
        try:
            while True:
                await self._apply(effects)
                if state.done:
                    assert state.route is not None
                    log.info(
                        "call.menu_done",
                        route=type(state.route).__name__,
                        menu=state.route.menu,
                        cause=state.route.cause,
                        digits="".join(state.digits),
                    )
                    if isinstance(state.route, menu.Abandoned):
                        raise CallerGone
                    return state.route, state.language
                event = self._translate(await self.call.next_event())
                effects = ()
                if event is not None:
                    state, effects = menu.step(state, event)
        finally:
            for handle in self._timers.values():
                handle.cancel()
            self._timers.clear()

    def _translate(self, event: Event | menu.DigitTimeout) -> menu.Event | None:
        if isinstance(event, menu.DigitTimeout):
            return event
        if event.type in _HANGUP_EVENTS:
            return menu.CallerHungUp()
        if event.type == "ChannelDtmfReceived" and event.digit:
            log.info("call.digit", digit=event.digit)
            return menu.DigitPressed(event.digit)
        if event.type == "PlaybackFinished" and event.playback_id in self._playbacks:
            return menu.PromptFinished(self._playbacks.pop(event.playback_id))
        return None

    async def _apply(self, effects: tuple[menu.Effect, ...]) -> None:
        for effect in effects:
            match effect:
                case menu.PlayPrompt():
                    ari_id = f"{self.channel_id}-{effect.playback_id}-{uuid.uuid4().hex[:8]}"
                    self._playbacks[ari_id] = effect.playback_id
                    media = [media_uri(p, effect.language) for p in effect.prompts]
                    log.info("call.prompt", menu=effect.menu, media=media)
                    await self.rest.play(
                        self.channel_id, media, playback_id=ari_id, lang=effect.language
                    )
                case menu.StopPrompt():
                    for ari_id, pid in list(self._playbacks.items()):
                        if pid == effect.playback_id:
                            with contextlib.suppress(AriNotFound):
                                await self.rest.stop_playback(ari_id)
                case menu.StartDigitTimer():
                    loop = asyncio.get_running_loop()
                    self._timers[effect.timer_id] = loop.call_later(
                        effect.seconds,
                        self.call.events.put_nowait,
                        menu.DigitTimeout(effect.timer_id),
                    )
                case menu.CancelDigitTimer():
                    handle = self._timers.pop(effect.timer_id, None)
                    if handle is not None:
                        handle.cancel()
                case menu.SetLanguage():
                    await self.rest.set_var(self.channel_id, "CHANNEL(language)", effect.language)
                case _:
                    pass  # the route is returned by _menu

    # -- after the menu ------------------------------------------------------------------

    async def _annotate(self, client: Client, topic_id: str | None, language: str) -> None:
        topic = self.config.topic(topic_id) if topic_id else None
        annotation = annotate(client, topic, self.caller_name, topic_id=topic_id, language=language)
        self._annotation = annotation
        for name, value in annotation.channel_variables.items():
            await self.rest.set_var(self.channel_id, name, value)
        await self.rest.set_var(self.channel_id, "CALLERID(name)", annotation.caller_id_name)
        # Inherited (__) by any outgoing leg, where the transfer's pre-dial handler turns them
        # into SIP headers.
        for header, value in annotation.sip_headers.items():
            variable = header_variable(header)
            await self.rest.set_var(self.channel_id, variable, value)
        if topic_id:
            structlog.contextvars.bind_contextvars(topic=topic_id)
        log.info("call.annotated", caller_id_name=annotation.caller_id_name)

    async def _follow(self, route: menu.Route, client: Client | None, language: str) -> None:
        # A playback still running would hold every later request on this channel (Asterisk
        # runs them in order on the channel): stop what the menu left playing.
        for ari_id in list(self._playbacks):
            with contextlib.suppress(AriNotFound):
                await self.rest.stop_playback(ari_id)
        self._playbacks.clear()
        match route:
            case menu.QueueRoute(topic=topic, prompt=prompt):
                if client is not None:
                    await self._annotate(client, topic, language)
                await self.rest.set_var(self.channel_id, "STADTRUF_ROUTE", f"queue:{topic}")
                if prompt is not None:
                    await self._play_to_end(prompt, language)
                await self.handoff.wait_for_agent(
                    self.call, self._queue_request(client, topic, language)
                )
            case menu.TransferRoute(target=target, topic=topic, prompt=prompt):
                if client is not None:
                    await self._annotate(client, topic, language)
                await self.rest.set_var(self.channel_id, "STADTRUF_ROUTE", f"transfer:{target}")
                if prompt is not None:
                    await self._play_to_end(prompt, language)
                await self._transfer(target)
            case menu.AnnounceAndHangup(prompt=prompt, topic=topic):
                if client is not None and topic:
                    await self._annotate(client, topic, language)
                await self.rest.set_var(self.channel_id, "STADTRUF_ROUTE", "announce")
                await self._play_to_end(prompt, language)
                await self.rest.hangup(self.channel_id)
            case menu.HangupRoute(reason=reason):
                log.info("call.hangup_by_menu", reason=reason)
                await self.rest.set_var(self.channel_id, "STADTRUF_ROUTE", "hangup")
                await self.rest.hangup(self.channel_id)
            case _:
                log.error("call.unexpected_route", route=repr(route))
                await self.rest.hangup(self.channel_id)

    def _queue_request(self, client: Client | None, topic: str, language: str) -> QueueRequest:
        topic_model = self.config.topic(topic)
        kind = None
        if self._decision is not None:
            kind = dialled_kind(self.config, self._decision, self.call.dialled)
        annotation = self._annotation
        return QueueRequest(
            topic=topic,
            language=language,
            client_id=client.id if client is not None else None,
            client_name=client.name if client is not None else None,
            topic_name=topic_model.name if topic_model is not None else None,
            dialled=kind,
            caller_number=self.call.caller_number,
            caller_id_name=annotation.caller_id_name if annotation else self.caller_name,
            sip_headers=dict(annotation.sip_headers) if annotation else {},
        )

    async def _play_to_end(self, prompt: Prompt, language: str) -> None:
        playback_id = f"{self.channel_id}-{uuid.uuid4().hex[:12]}"
        await self.rest.play(
            self.channel_id, media_uri(prompt, language), playback_id=playback_id, lang=language
        )
        while True:
            event = await self.call.next_event()
            if isinstance(event, menu.DigitTimeout):
                continue
            if event.type in _HANGUP_EVENTS:
                raise CallerGone
            if event.type == "PlaybackFinished" and event.playback_id == playback_id:
                return

    async def _transfer(self, target: str) -> None:
        """Hand the call to the dialplan, which dials the target with the SIP headers."""
        number = normalize(target)
        if number is not None:
            extension = number
        else:  # an endpoint such as PJSIP/wbd
            await self.rest.set_var(self.channel_id, "STADTRUF_TRANSFER_ENDPOINT", target)
            extension = "endpoint"
        log.info("call.transfer", target=target)
        await self.rest.continue_in_dialplan(
            self.channel_id, context=TRANSFER_CONTEXT, extension=extension, priority=1
        )
