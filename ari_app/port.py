"""The one ARI interface the application depends on (httpx's transport seam, for Asterisk).

`AriRest` talks to a real Asterisk; `tests.support.fake_ari.FakeAri` records requests for
unit tests. The call flow, the queue adapter and the application type their REST client as
`Ari`, never as `AriRest`, so either can stand behind them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal, Protocol

from ari_app.rest import AriRest, HangupReason, JsonObject


class Ari(Protocol):
    """ARI REST requests, as `AriRest` implements them (see there for the parameters)."""

    async def asterisk_info(self) -> JsonObject: ...

    async def reload_module(self, module: str) -> None: ...

    async def ping(self) -> JsonObject: ...

    async def list_applications(self) -> list[JsonObject]: ...

    async def subscribe(self, app: str, event_source: str) -> JsonObject: ...

    async def filter_events(
        self, app: str, *, allowed: Sequence[str] = (), disallowed: Sequence[str] = ()
    ) -> JsonObject: ...

    async def list_endpoints(self) -> list[JsonObject]: ...

    async def get_endpoint(self, tech: str, resource: str) -> JsonObject: ...

    async def list_channels(self) -> list[JsonObject]: ...

    async def get_channel(self, channel_id: str) -> JsonObject: ...

    async def answer(self, channel_id: str) -> None: ...

    async def hangup(self, channel_id: str, reason: HangupReason = "normal") -> None: ...

    async def ring(self, channel_id: str) -> None: ...

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> JsonObject: ...

    async def stop_playback(self, playback_id: str) -> None: ...

    async def send_dtmf(
        self, channel_id: str, dtmf: str, *, between_ms: int = 100, duration_ms: int = 100
    ) -> None: ...

    async def get_global_var(self, name: str) -> str: ...

    async def set_global_var(self, name: str, value: str) -> None: ...

    async def set_device_state(self, device: str, state: str) -> None: ...

    async def set_var(self, channel_id: str, name: str, value: str) -> None: ...

    async def set_vars(self, channel_id: str, pairs: Sequence[tuple[str, str]]) -> None:
        """Several variables (or functions) in order, as `set_var` each, in fewer requests."""
        ...

    async def get_var(self, channel_id: str, name: str) -> str | None: ...

    async def originate(
        self,
        endpoint: str,
        *,
        app: str,
        app_args: str = "",
        caller_id: str | None = None,
        variables: Mapping[str, str] | None = None,
        channel_id: str | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - ARI dial timeout, not a client timeout
        other_channel_id: str | None = None,
    ) -> JsonObject: ...

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
    ) -> JsonObject: ...

    async def dial(
        self,
        channel_id: str,
        caller: str | None = None,
        timeout: int | None = None,  # noqa: ASYNC109 - ARI dial timeout, not a client timeout
    ) -> None: ...

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None: ...

    async def stop_moh(self, channel_id: str) -> None: ...

    async def continue_in_dialplan(
        self,
        channel_id: str,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
    ) -> None: ...

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
    ) -> JsonObject: ...

    async def stop_recording(self, name: str) -> None: ...

    async def get_stored_recording(self, name: str) -> JsonObject: ...

    async def stored_recording_file(self, name: str) -> bytes: ...

    async def delete_stored_recording(self, name: str) -> None: ...

    async def list_bridges(self) -> list[JsonObject]: ...

    async def create_bridge(
        self,
        bridge_type: str = "mixing",
        *,
        bridge_id: str | None = None,
        name: str | None = None,
    ) -> JsonObject: ...

    async def destroy_bridge(self, bridge_id: str) -> None: ...

    async def add_channel(
        self, bridge_id: str, channel_id: str, *, role: str | None = None
    ) -> None: ...

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None: ...


def _conforms(rest: AriRest) -> Ari:
    return rest  # mypy checks that the real client has every method of the interface
