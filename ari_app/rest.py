"""Typed client for the ARI REST interface (Asterisk 22), on a caller-owned aiohttp session.

Parameter names follow the Swagger files Asterisk ships in /usr/share/asterisk/rest-api/*.json.
ARI takes almost everything as query parameters, even for POST; only `variables` of originate and
create travel in a JSON body. Methods return the decoded JSON (`Channel`, `Bridge`, `Playback`
... objects as dicts) or None for ARI's `void` operations.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Mapping, Sequence
from typing import Any, Literal
from urllib.parse import quote

import aiohttp
import structlog
import yarl

from ari_app.connection import base_url_of, basic_auth_header
from ari_app.errors import AriError, AriNotFound, AriUnavailable, error_message, left_stasis
from ari_app.variables import array_assignment

__all__ = ["AriRest", "HangupReason", "JsonObject"]

log = structlog.get_logger(__name__)

JsonObject = dict[str, Any]
ParamValue = str | int | float | bool | None

# The simple `reason` values of DELETE /channels/{channelId} (channels.json, Asterisk 22).
HangupReason = Literal[
    "normal",
    "busy",
    "congestion",
    "no_answer",
    "timeout",
    "rejected",
    "unallocated",
    "normal_unspecified",
    "number_incomplete",
    "codec_mismatch",
    "interworking",
    "failure",
    "answered_elsewhere",
]


def _seg(value: str) -> str:
    """Percent-encode one path segment (channel ids are caller-chosen and may contain '/')."""
    if not value:
        raise ValueError("ARI path segment (an id or name) must not be empty")
    return quote(value, safe="")


def _query(params: Mapping[str, ParamValue] | None) -> dict[str, str | int | float]:
    """Drop unset parameters and spell booleans the way Asterisk's parser expects."""
    out: dict[str, str | int | float] = {}
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        else:
            out[key] = value
    return out


class AriRest:
    """The REST half of ARI. Cheap to create; the aiohttp session is owned by the caller."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        username: str,
        password: str,
        *,
        timeout: float = 10.0,
    ) -> None:
        self._session = session
        self._base = base_url_of(base_url)
        self._username = username
        self._auth_headers = basic_auth_header(username, password)
        # A hung Asterisk must not stall a caller's menu for aiohttp's default 5 minutes.
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    def __repr__(self) -> str:
        # The default repr would show the Authorization header, i.e. the password.
        return f"AriRest(base_url={str(self._base)!r}, username={self._username!r})"

    @property
    def base_url(self) -> str:
        return str(self._base)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        json: Any = None,
    ) -> Any:
        """Call ARI and return the decoded JSON body (None for an empty body).

        `path` is relative to the base URL and already percent-encoded, e.g. ``/channels``.
        Raises AriNotFound (404), AriUnavailable (no answer) or AriError (any other non-2xx).
        """
        body = await self.request_bytes(method, path, params=params, json=json)
        if not body.strip():
            return None
        try:
            return jsonlib.loads(body)
        except ValueError:
            raise AriError(
                200, method.upper(), path, "Asterisk answered with a body that is not JSON"
            ) from None

    async def request_bytes(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, ParamValue] | None = None,
        json: Any = None,
    ) -> bytes:
        """Like `request`, but the body as it came (a recording's audio, for one)."""
        method = method.upper()
        if not path.startswith("/"):
            path = "/" + path
        url = yarl.URL(str(self._base) + path, encoded=True)
        if self._session.closed:  # the app has let go of Asterisk (a hand-over, a stop)
            raise AriUnavailable(None, method, path, "the app's ARI session is closed")
        try:
            async with self._session.request(
                method,
                url,
                params=_query(params),
                json=json,
                headers=self._auth_headers,
                timeout=self._timeout,
                raise_for_status=False,
            ) as resp:
                body = await resp.read()
                status, reason = resp.status, resp.reason
        except (aiohttp.ClientError, TimeoutError) as exc:
            detail = str(exc) or type(exc).__name__
            raise AriUnavailable(
                None,
                method,
                path,
                f"cannot reach Asterisk at {self._base} ({detail}); is Asterisk running "
                "with ARI enabled in http.conf and ari.conf?",
            ) from exc
        log.debug("ari.rest", method=method, path=path, status=status)
        if 200 <= status < 300:
            return body
        message = error_message(body, reason)
        if status == 404 or left_stasis(status, path, message):
            raise AriNotFound(status, method, path, message)
        if status in (401, 403):
            message = (
                f"{message}; ARI rejected user {self._username!r}: check the password and "
                "read_only setting in ari.conf"
            )
        raise AriError(status, method, path, message)

    # --- Asterisk, applications, endpoints -------------------------------------------------

    async def asterisk_info(self) -> JsonObject:
        """GET /asterisk/info: build, system, config and status of the Asterisk instance."""
        return await self.request("GET", "/asterisk/info")

    async def reload_module(self, module: str) -> None:
        """PUT /asterisk/modules/{name}: reload e.g. ``pbx_config.so`` after a dialplan change."""
        await self.request("PUT", f"/asterisk/modules/{_seg(module)}")

    async def ping(self) -> JsonObject:
        """GET /asterisk/ping: cheap liveness check (``asterisk_id``, ``ping``, ``timestamp``)."""
        return await self.request("GET", "/asterisk/ping")

    async def list_applications(self) -> list[JsonObject]:
        return await self.request("GET", "/applications")

    async def subscribe(self, app: str, event_source: str) -> JsonObject:
        """POST /applications/{app}/subscription, e.g. ``endpoint:PJSIP/agent-101``: the app
        then gets that endpoint's state changes. Idempotent."""
        return await self.request(
            "POST",
            f"/applications/{_seg(app)}/subscription",
            params={"eventSource": event_source},
        )

    async def filter_events(
        self, app: str, *, allowed: Sequence[str] = (), disallowed: Sequence[str] = ()
    ) -> JsonObject:
        """PUT /applications/{app}/eventFilter: Asterisk sends `app` only the `allowed` types
        (all, if none are named), less the `disallowed` ones."""
        body = {
            kind: [{"type": t} for t in types]
            for kind, types in (("allowed", allowed), ("disallowed", disallowed))
            if types
        }
        return await self.request("PUT", f"/applications/{_seg(app)}/eventFilter", json=body)

    async def list_endpoints(self) -> list[JsonObject]:
        return await self.request("GET", "/endpoints")

    async def get_endpoint(self, tech: str, resource: str) -> JsonObject:
        """GET /endpoints/{tech}/{resource}, e.g. ``("PJSIP", "agent-101")``."""
        return await self.request("GET", f"/endpoints/{_seg(tech)}/{_seg(resource)}")

    # --- Channels ----------------------------------------------------------------------------

    async def list_channels(self) -> list[JsonObject]:
        """All active channels, not only ours: filter on ``dialplan.app_data`` if needed."""
        return await self.request("GET", "/channels")

    async def get_channel(self, channel_id: str) -> JsonObject:
        return await self.request("GET", f"/channels/{_seg(channel_id)}")

    async def answer(self, channel_id: str) -> None:
        await self.request("POST", f"/channels/{_seg(channel_id)}/answer")

    async def hangup(self, channel_id: str, reason: HangupReason = "normal") -> None:
        await self.request("DELETE", f"/channels/{_seg(channel_id)}", params={"reason": reason})

    async def ring(self, channel_id: str) -> None:
        """Send ringing indication to the caller (before answer)."""
        await self.request("POST", f"/channels/{_seg(channel_id)}/ring")

    async def play(
        self,
        channel_id: str,
        media: str | Sequence[str],
        *,
        playback_id: str | None = None,
        lang: str | None = None,
    ) -> JsonObject:
        """Start playback and return the `Playback` object; several URIs play back to back.

        Pass `playback_id` to know the id before the first Playback event can arrive.
        """
        uris = [media] if isinstance(media, str) else list(media)
        if not uris or any(not uri or "," in uri for uri in uris):
            # ARI splits the `media` parameter on commas, so a comma cannot be escaped.
            raise ValueError(f"media must be non-empty URIs without commas, got {media!r}")
        params = {"media": ",".join(uris), "lang": lang, "playbackId": playback_id}
        return await self.request("POST", f"/channels/{_seg(channel_id)}/play", params=params)

    async def stop_playback(self, playback_id: str) -> None:
        await self.request("DELETE", f"/playbacks/{_seg(playback_id)}")

    async def send_dtmf(
        self, channel_id: str, dtmf: str, *, between_ms: int = 100, duration_ms: int = 100
    ) -> None:
        """Send DTMF digits (0-9, A-D, *, #; ',' pauses) to the channel."""
        params: dict[str, ParamValue] = {
            "dtmf": dtmf,
            "between": between_ms,
            "duration": duration_ms,
        }
        await self.request("POST", f"/channels/{_seg(channel_id)}/dtmf", params=params)

    async def get_global_var(self, name: str) -> str:
        """A global dialplan variable (e.g. the call limit), "" when unset."""
        reply = await self.request("GET", "/asterisk/variable", params={"variable": name})
        return str(reply.get("value", ""))

    async def set_global_var(self, name: str, value: str) -> None:
        await self.request("POST", "/asterisk/variable", params={"variable": name, "value": value})

    async def set_device_state(self, device: str, state: str) -> None:  # Stasis:…, in AstDB
        await self.request("PUT", f"/deviceStates/{_seg(device)}", params={"deviceState": state})

    async def set_var(self, channel_id: str, name: str, value: str) -> None:
        params = {"variable": name, "value": value}
        await self.request("POST", f"/channels/{_seg(channel_id)}/variable", params=params)

    async def set_vars(self, channel_id: str, pairs: Sequence[tuple[str, str]]) -> None:
        """In one request where ARRAY() can carry them (`ari_app.variables`)."""
        assignment = array_assignment(pairs)
        for name, value in [assignment] if assignment else pairs:
            await self.set_var(channel_id, name, value)

    async def get_var(self, channel_id: str, name: str) -> str | None:
        """A channel variable or function (``CALLERID(num)``); None if the variable is unset.

        Asterisk answers 404 both for an unset variable and for a missing channel; only its
        message tells them apart. A missing channel still raises AriNotFound.
        """
        try:
            result = await self.request(
                "GET", f"/channels/{_seg(channel_id)}/variable", params={"variable": name}
            )
        except AriNotFound as exc:
            if "variable" in exc.message.lower():
                return None
            raise
        value = result.get("value") if isinstance(result, dict) else None
        return value if isinstance(value, str) else None

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
    ) -> JsonObject:
        """POST /channels: dial `endpoint` (``PJSIP/agent-101``) and put it into Stasis `app`.

        `timeout` is in seconds, -1 for none. Returns the new `Channel`.
        """
        params = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": app_args or None,
            "callerId": caller_id,
            "timeout": timeout,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
        }
        body = {"variables": dict(variables)} if variables else None
        return await self.request("POST", "/channels", params=params, json=body)

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
        """POST /channels/create: create a channel without dialing; follow with `dial()`.

        Unlike originate this lets us add the channel to a bridge before it rings.
        """
        params = {
            "endpoint": endpoint,
            "app": app,
            "appArgs": app_args or None,
            "channelId": channel_id,
            "otherChannelId": other_channel_id,
            "originator": originator,
            "formats": formats,
        }
        body = {"variables": dict(variables)} if variables else None
        return await self.request("POST", "/channels/create", params=params, json=body)

    async def dial(
        self,
        channel_id: str,
        caller: str | None = None,
        timeout: int | None = None,  # noqa: ASYNC109 - ARI dial timeout, not a client timeout
    ) -> None:
        """Dial a channel made by `create_channel`; `timeout` in seconds (0/None: no limit)."""
        params = {"caller": caller, "timeout": timeout}
        await self.request("POST", f"/channels/{_seg(channel_id)}/dial", params=params)

    async def start_moh(self, channel_id: str, moh_class: str | None = None) -> None:
        params = {"mohClass": moh_class}
        await self.request("POST", f"/channels/{_seg(channel_id)}/moh", params=params)

    async def stop_moh(self, channel_id: str) -> None:
        await self.request("DELETE", f"/channels/{_seg(channel_id)}/moh")

    async def continue_in_dialplan(
        self,
        channel_id: str,
        context: str | None = None,
        extension: str | None = None,
        priority: int | None = None,
    ) -> None:
        """Leave Stasis and continue in the dialplan (default: the next priority)."""
        params = {"context": context, "extension": extension, "priority": priority}
        await self.request("POST", f"/channels/{_seg(channel_id)}/continue", params=params)

    # --- Recordings ------------------------------------------------------------------------

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
        """POST /channels/{id}/record: start recording what the channel says; returns the
        `LiveRecording`. Events: RecordingStarted, RecordingFinished, RecordingFailed.

        Asterisk stores the file as `name`.`format` below its spool's `recording/` directory,
        which must exist (ARI answers 500 otherwise). 0 means no limit for the two limits.
        """
        params: dict[str, ParamValue] = {
            "name": name,
            "format": format,
            "maxDurationSeconds": max_duration_s,
            "maxSilenceSeconds": max_silence_s,
            "beep": beep,
            "terminateOn": terminate_on,
            "ifExists": if_exists,
        }
        return await self.request("POST", f"/channels/{_seg(channel_id)}/record", params=params)

    async def stop_recording(self, name: str) -> None:
        """POST /recordings/live/{name}/stop: end the recording and keep what it has."""
        await self.request("POST", f"/recordings/live/{_seg(name)}/stop")

    async def get_stored_recording(self, name: str) -> JsonObject:
        """GET /recordings/stored/{name}: `{"name", "format"}`; AriNotFound if none."""
        return await self.request("GET", f"/recordings/stored/{_seg(name)}")

    async def stored_recording_file(self, name: str) -> bytes:
        """GET /recordings/stored/{name}/file: the audio file as Asterisk stored it."""
        return await self.request_bytes("GET", f"/recordings/stored/{_seg(name)}/file")

    async def delete_stored_recording(self, name: str) -> None:
        await self.request("DELETE", f"/recordings/stored/{_seg(name)}")

    # --- Bridges -----------------------------------------------------------------------------

    async def list_bridges(self) -> list[JsonObject]:
        return await self.request("GET", "/bridges")

    async def create_bridge(
        self,
        bridge_type: str = "mixing",
        *,
        bridge_id: str | None = None,
        name: str | None = None,
    ) -> JsonObject:
        """POST /bridges. `bridge_type` is a comma list, e.g. ``"mixing,dtmf_events"``."""
        params = {"type": bridge_type, "bridgeId": bridge_id, "name": name}
        return await self.request("POST", "/bridges", params=params)

    async def destroy_bridge(self, bridge_id: str) -> None:
        await self.request("DELETE", f"/bridges/{_seg(bridge_id)}")

    async def add_channel(
        self, bridge_id: str, channel_id: str, *, role: str | None = None
    ) -> None:
        """Raises AriNotFound if the bridge or the channel is gone."""
        params = {"channel": channel_id, "role": role}
        path = f"/bridges/{_seg(bridge_id)}/addChannel"
        await self._bridge_membership(path, params)

    async def remove_channel(self, bridge_id: str, channel_id: str) -> None:
        """Raises AriNotFound if the bridge or the channel is gone."""
        path = f"/bridges/{_seg(bridge_id)}/removeChannel"
        await self._bridge_membership(path, {"channel": channel_id})

    async def _bridge_membership(self, path: str, params: Mapping[str, ParamValue]) -> None:
        try:
            await self.request("POST", path, params=params)
        except AriNotFound:
            raise
        except AriError as exc:
            # bridges.json: a missing *channel* is "400 Channel not found" here, not 404. For the
            # caller it is the same hangup race as everywhere else, so give it the same type.
            if exc.status == 400 and "not found" in exc.message.lower():
                raise AriNotFound(exc.status, exc.method, exc.path, exc.message) from exc
            raise
