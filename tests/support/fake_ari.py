"""A fake of the ARI interface (`ari_app.port.Ari`) for unit tests of the adapters.

Every request is recorded in `requests` as `(method, arguments)`, in order. Answers come from
`answers[method]` (a value, or a callable taking the arguments), else an empty default; an
exception in `failures[method]` is raised instead. Channel variables set are kept, so
`get_var` reads back what `set_var` wrote. `wait_for(method)` lets a test wait for a request
instead of sleeping.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import aiohttp

from ari_app.errors import AriUnavailable
from ari_app.port import Ari
from ari_app.rest import HangupReason, JsonObject

_LISTS = frozenset({"list_applications", "list_endpoints", "list_channels", "list_bridges"})


class FakeAri:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any]]] = []
        self.answers: dict[str, Any] = {}
        self.failures: dict[str, BaseException] = {}
        self.variables: dict[tuple[str, str], str] = {}
        self._changed = asyncio.Event()
        self.session: aiohttp.ClientSession | None = None  # the app's (FakeConnection)

    # -- for tests ------------------------------------------------------------------------

    def calls(self, method: str) -> list[dict[str, Any]]:
        """The arguments of every request to `method`, in order."""
        return [args for name, args in self.requests if name == method]

    def names(self) -> list[str]:
        return [name for name, _ in self.requests]

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 2.0,
    ) -> list[dict[str, Any]]:
        """Wait until `method` was requested `count` times; its calls' arguments."""
        async with asyncio.timeout(timeout):
            while len(self.calls(method)) < count:
                self._changed.clear()
                await self._changed.wait()
        return self.calls(method)

    def _call(self, method: str, **args: Any) -> Any:
        if self.session is not None and self.session.closed:
            raise AriUnavailable(None, method, "", "the app's ARI session is closed")
        self.requests.append((method, args))
        self._changed.set()
        if method in self.failures:
            raise self.failures[method]
        if method == "set_var":
            self.variables[(args["channel_id"], args["name"])] = args["value"]
        if method == "get_var" and method not in self.answers:
            return self.variables.get((args["channel_id"], args["name"]))
        answer = self.answers.get(method)
        if callable(answer):
            return answer(**args)
        if answer is not None:
            return answer
        if method in _LISTS:
            return []
        if method == "stored_recording_file":
            return b""
        return {} if method not in _VOID else None

    # -- the interface --------------------------------------------------------------------

    async def asterisk_info(self) -> JsonObject:
        return self._call("asterisk_info")

    async def reload_module(self, module: str) -> None:
        return self._call("reload_module", module=module)

    async def ping(self) -> JsonObject:
        return self._call("ping")

    async def list_applications(self) -> list[JsonObject]:
        return self._call("list_applications")

    async def subscribe(self, app: str, event_source: str) -> JsonObject:
        return self._call("subscribe", app=app, event_source=event_source)

    async def filter_events(
        self, app: str, *, allowed: Sequence[str] = (), disallowed: Sequence[str] = ()
    ) -> JsonObject:
        return self._call(
            "filter_events", app=app, allowed=list(allowed), disallowed=list(disallowed)
        )

    async def list_endpoints(self) -> list[JsonObject]:
        return self._call("list_endpoints")

    async def get_endpoint(self, tech: str, resource: str) -> JsonObject:
        return self._call("get_endpoint", tech=tech, resource=resource)

    async def list_channels(self) -> list[JsonObject]:
        return self._call("list_channels")

    async def get_channel(self, channel_id: str) -> JsonObject:
        return self._call("get_channel", channel_id=channel_id)

    async def answer(self, channel_id: str) -> None:
        return self._call("answer", channel_id=channel_id)

    async def hangup(self, channel_id: str, reason: HangupReason = "normal") -> None:
        return self._call("hangup", channel_id=channel_id, reason=reason)

    async def ring(self, channel_id: str) -> None:
        return self._call("ring", channel_id=channel_id)

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> JsonObject:
        return self._call(
            "play", channel_id=channel_id, media=media, playback_id=playback_id, lang=lang
        )

    async def stop_playback(self, playback_id: str) -> None:
        return self._call("stop_playback", playback_id=playback_id)

    async def send_dtmf(
        self, channel_id: str, dtmf: str, *, between_ms: int = 100, duration_ms: int = 100
    ) -> None:
        return self._call(
            "send_dtmf",
            channel_id=channel_id,
            dtmf=dtmf,
            between_ms=between_ms,
            duration_ms=duration_ms,
        )

    async def get_global_var(self, name: str) -> str:
        return self._call("get_global_var", name=name) or ""

    async def set_global_var(self, name: str, value: str) -> None:
        return self._call("set_global_var", name=name, value=value)

    async def set_device_state(self, device: str, state: str) -> None:
        return self._call("set_device_state", device=device, state=state)

    async def set_var(self, channel_id: str, name: str, value: str) -> None:
        return self._call("set_var", channel_id=channel_id, name=name, value=value)

    async def set_vars(self, channel_id: str, pairs: Sequence[tuple[str, str]]) -> None:
        # Recorded as the set_var requests it stands for: tests read variables, not batches.
        for name, value in pairs:
            self._call("set_var", channel_id=channel_id, name=name, value=value)

    async def get_var(self, channel_id: str, name: str) -> str | None:
        return self._call("get_var", channel_id=channel_id, name=name)

    async def originate(
        self,
        endpoint: str,
        *,
        app: str,
        app_args: str = "",
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        channel_id: str | None = None,
        timeout: int = 30,
        other_channel_id: str | None = None,
    ) -> JsonObject:
        return self._call(
            "originate",
            endpoint=endpoint,
            app=app,
            app_args=app_args,
            caller_id=caller_id,
            variables=variables,
            channel_id=channel_id,
            timeout=timeout,
            other_channel_id=other_channel_id,
        )

    async def create_channel(
        self,
        endpoint: str,
        *,
        app: str,
        app_args: str = "",
        channel_id: str | None = None,
        other_channel_id: str | None = None,
        originator: str | None = None,
        formats: str | None = None,
        variables: Mapping[str, str] | None = None,
    ) -> JsonObject:
        return self._call(
            "create_channel",
            endpoint=endpoint,
            app=app,
            app_args=app_args,
            channel_id=channel_id,
            other_channel_id=other_channel_id,
            originator=originator,
            formats=formats,
            variables=variables,
        )

    async def dial(
        self,
        channel_id: str,
        caller: str | None = None,
        timeout: int | None = None,
    ) -> None:
        return self._call("dial", channel_id=channel_id, caller=caller, timeout=timeout)

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        return self._call("start_moh", channel_id=channel_id, moh_class=moh_class)

    async def stop_moh(self, channel_id: str) -> None:
        return self._call("stop_moh", channel_id=channel_id)

    async def continue_in_dialplan(
        self,
        channel_id: str,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
    ) -> None:
        return self._call(
            "continue_in_dialplan",
            channel_id=channel_id,
            context=context,
            extension=extension,
            priority=priority,
        )

    async def record(
        self,
        channel_id: str,
        name: str,
        *,
        format: str = "wav",
        max_duration_s: int = 0,
        max_silence_s: int = 0,
        beep: bool = False,
        terminate_on: str = "none",
        if_exists: Literal["fail", "overwrite", "append"] = "fail",
    ) -> JsonObject:
        return self._call(
            "record",
            channel_id=channel_id,
            name=name,
            format=format,
            max_duration_s=max_duration_s,
            max_silence_s=max_silence_s,
            beep=beep,
            terminate_on=terminate_on,
            if_exists=if_exists,
        )

    async def stop_recording(self, name: str) -> None:
        return self._call("stop_recording", name=name)

    async def get_stored_recording(self, name: str) -> JsonObject:
        return self._call("get_stored_recording", name=name)

    async def stored_recording_file(self, name: str) -> bytes:
        return self._call("stored_recording_file", name=name)

    async def delete_stored_recording(self, name: str) -> None:
        return self._call("delete_stored_recording", name=name)

    async def list_bridges(self) -> list[JsonObject]:
        return self._call("list_bridges")

    async def create_bridge(
        self,
        bridge_type: str = "mixing",
        *,
        bridge_id: str | None = None,
        name: str | None = None,
    ) -> JsonObject:
        return self._call("create_bridge", bridge_type=bridge_type, bridge_id=bridge_id, name=name)

    async def destroy_bridge(self, bridge_id: str) -> None:
        return self._call("destroy_bridge", bridge_id=bridge_id)

    async def add_channel(
        self, bridge_id: str, channel_id: str, *, role: str | None = None
    ) -> None:
        return self._call("add_channel", bridge_id=bridge_id, channel_id=channel_id, role=role)

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        return self._call("remove_channel", bridge_id=bridge_id, channel_id=channel_id)


_VOID = frozenset(
    name
    for name, value in vars(FakeAri).items()
    if callable(value) and getattr(value, "__annotations__", {}).get("return") == "None"
)


def _conforms(fake: FakeAri) -> Ari:
    return fake  # mypy checks that the fake has every method of the interface


__all__ = ["Callable", "FakeAri", "HangupReason", "JsonObject", "Mapping", "Sequence"]
