"""AriRest against a fake ARI on 127.0.0.1: request shapes, auth, error mapping."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from ari_app.errors import AriError, AriNotFound, AriUnavailable
from ari_app.rest import AriRest
from tests.swagger import swagger_dir
from tests.unit.conftest import serve_on_loopback

USER = "stadtruf"
PASSWORD = "Geheim-7f3c!"  # distinctive, so a leak into messages or reprs is easy to spot
SWAGGER_DIR = swagger_dir()
AUTH = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
CHANNEL = {"id": "1763736012.42", "name": "PJSIP/telekom-trunk-0000002a", "state": "Up"}


@dataclass
class Recorded:
    method: str
    path: str  # percent-encoded, as on the wire
    query: dict[str, str]
    body: Any


@dataclass
class FakeAri:
    """Checks basic auth, records requests, answers from `routes` (404 for anything else)."""

    base_url: str = ""
    requests: list[Recorded] = field(default_factory=list)
    routes: dict[tuple[str, str], tuple[int, Any]] = field(default_factory=dict)
    delay: float = 0.0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if request.headers.get("Authorization") != AUTH:
            return web.json_response({"message": "Authentication required"}, status=401)
        body = await request.json() if request.body_exists else None
        path = request.rel_url.raw_path
        self.requests.append(Recorded(request.method, path, dict(request.query), body))
        if self.delay:
            await asyncio.sleep(self.delay)
        status, payload = self.routes.get(
            (request.method, path), (404, {"message": "Resource not found"})
        )
        if payload is None:
            return web.Response(status=status)
        if isinstance(payload, str):
            return web.Response(status=status, text=payload)
        return web.json_response(payload, status=status)

    @property
    def last(self) -> Recorded:
        assert self.requests, "no request reached the fake ARI"
        return self.requests[-1]


@pytest.fixture
async def fake_ari() -> AsyncIterator[FakeAri]:
    fake = FakeAri()
    app = web.Application()
    app.router.add_route("*", "/ari/{tail:.*}", fake.handle)
    async with serve_on_loopback(app) as base_url:
        fake.base_url = base_url
        yield fake


@pytest.fixture
def rest(fake_ari: FakeAri, session: aiohttp.ClientSession) -> AriRest:
    return AriRest(session, fake_ari.base_url, USER, PASSWORD, timeout=2)


def _swagger_operation(method: str, template: str) -> dict[str, Any]:
    for f in SWAGGER_DIR.glob("*.json"):
        for api in json.loads(f.read_text()).get("apis", []):
            if api["path"] == template:
                for op in api["operations"]:
                    if op["httpMethod"] == method:
                        return op
    raise AssertionError(f"{method} {template} is not in the Asterisk Swagger files")


Call = Callable[[AriRest], Awaitable[Any]]

# (call, method, swagger path template, recorded path, query, JSON body)
CASES: list[tuple[str, Call, str, str, str, dict[str, str], Any]] = [
    (
        "asterisk_info",
        lambda r: r.asterisk_info(),
        "GET",
        "/asterisk/info",
        "/asterisk/info",
        {},
        None,
    ),
    ("ping", lambda r: r.ping(), "GET", "/asterisk/ping", "/asterisk/ping", {}, None),
    (
        "reload_module",
        lambda r: r.reload_module("pbx_config.so"),
        "PUT",
        "/asterisk/modules/{moduleName}",
        "/asterisk/modules/pbx_config.so",
        {},
        None,
    ),
    (
        "list_applications",
        lambda r: r.list_applications(),
        "GET",
        "/applications",
        "/applications",
        {},
        None,
    ),
    (
        "subscribe",
        lambda r: r.subscribe("stadtruf", "endpoint:PJSIP/agent-101"),
        "POST",
        "/applications/{applicationName}/subscription",
        "/applications/stadtruf/subscription",
        {"eventSource": "endpoint:PJSIP/agent-101"},
        None,
    ),
    (
        "filter_events",
        lambda r: r.filter_events("stadtruf", disallowed=["ChannelVarset"]),
        "PUT",
        "/applications/{applicationName}/eventFilter",
        "/applications/stadtruf/eventFilter",
        {},
        {"disallowed": [{"type": "ChannelVarset"}]},
    ),
    ("list_endpoints", lambda r: r.list_endpoints(), "GET", "/endpoints", "/endpoints", {}, None),
    (
        "get_endpoint",
        lambda r: r.get_endpoint("PJSIP", "agent-101"),
        "GET",
        "/endpoints/{tech}/{resource}",
        "/endpoints/PJSIP/agent-101",
        {},
        None,
    ),
    ("list_channels", lambda r: r.list_channels(), "GET", "/channels", "/channels", {}, None),
    (
        "get_channel",
        lambda r: r.get_channel("1763736012.42"),
        "GET",
        "/channels/{channelId}",
        "/channels/1763736012.42",
        {},
        None,
    ),
    (
        "answer",
        lambda r: r.answer("c1"),
        "POST",
        "/channels/{channelId}/answer",
        "/channels/c1/answer",
        {},
        None,
    ),
    (
        "hangup",
        lambda r: r.hangup("c1", reason="busy"),
        "DELETE",
        "/channels/{channelId}",
        "/channels/c1",
        {"reason": "busy"},
        None,
    ),
    (
        "ring",
        lambda r: r.ring("c1"),
        "POST",
        "/channels/{channelId}/ring",
        "/channels/c1/ring",
        {},
        None,
    ),
    (
        "play",
        lambda r: r.play(
            "c1", ["sound:stadtruf/willkommen", "digits:115"], playback_id="p1", lang="de"
        ),
        "POST",
        "/channels/{channelId}/play",
        "/channels/c1/play",
        {"media": "sound:stadtruf/willkommen,digits:115", "playbackId": "p1", "lang": "de"},
        None,
    ),
    (
        "stop_playback",
        lambda r: r.stop_playback("p1"),
        "DELETE",
        "/playbacks/{playbackId}",
        "/playbacks/p1",
        {},
        None,
    ),
    (
        "record",
        lambda r: r.record(
            "c1", "vm-1", max_duration_s=120, max_silence_s=10, beep=True, terminate_on="#"
        ),
        "POST",
        "/channels/{channelId}/record",
        "/channels/c1/record",
        {
            "name": "vm-1",
            "format": "wav",
            "maxDurationSeconds": "120",
            "maxSilenceSeconds": "10",
            "beep": "true",
            "terminateOn": "#",
            "ifExists": "fail",
        },
        None,
    ),
    (
        "stop_recording",
        lambda r: r.stop_recording("vm-1"),
        "POST",
        "/recordings/live/{recordingName}/stop",
        "/recordings/live/vm-1/stop",
        {},
        None,
    ),
    (
        "get_stored_recording",
        lambda r: r.get_stored_recording("vm-1"),
        "GET",
        "/recordings/stored/{recordingName}",
        "/recordings/stored/vm-1",
        {},
        None,
    ),
    (
        "stored_recording_file",
        lambda r: r.stored_recording_file("vm-1"),
        "GET",
        "/recordings/stored/{recordingName}/file",
        "/recordings/stored/vm-1/file",
        {},
        None,
    ),
    (
        "delete_stored_recording",
        lambda r: r.delete_stored_recording("vm-1"),
        "DELETE",
        "/recordings/stored/{recordingName}",
        "/recordings/stored/vm-1",
        {},
        None,
    ),
    (
        "send_dtmf",
        lambda r: r.send_dtmf("c1", "12#", between_ms=200, duration_ms=80),
        "POST",
        "/channels/{channelId}/dtmf",
        "/channels/c1/dtmf",
        {"dtmf": "12#", "between": "200", "duration": "80"},
        None,
    ),
    (
        "set_var",
        lambda r: r.set_var("c1", "STADTRUF_TOPIC", "kfz"),
        "POST",
        "/channels/{channelId}/variable",
        "/channels/c1/variable",
        {"variable": "STADTRUF_TOPIC", "value": "kfz"},
        None,
    ),
    (
        "set_vars",
        lambda r: r.set_vars("c1", [("STADTRUF_TOPIC", "kfz"), ("CALLERID(name)", 'a "b", c\\d')]),
        "POST",
        "/channels/{channelId}/variable",
        "/channels/c1/variable",
        {
            "variable": "ARRAY(STADTRUF_TOPIC,CALLERID(name))",
            "value": '"kfz","a \\"b\\", c\\\\d"',
        },
        None,
    ),
    (
        "get_var",
        lambda r: r.get_var("c1", "CALLERID(num)"),
        "GET",
        "/channels/{channelId}/variable",
        "/channels/c1/variable",
        {"variable": "CALLERID(num)"},
        None,
    ),
    (
        "get_global_var",
        lambda r: r.get_global_var("STADTRUF_MAX_CALLS"),
        "GET",
        "/asterisk/variable",
        "/asterisk/variable",
        {"variable": "STADTRUF_MAX_CALLS"},
        None,
    ),
    (
        "set_global_var",
        lambda r: r.set_global_var("STADTRUF_MAX_CALLS", "3"),
        "POST",
        "/asterisk/variable",
        "/asterisk/variable",
        {"variable": "STADTRUF_MAX_CALLS", "value": "3"},
        None,
    ),
    (
        "set_device_state",
        lambda r: r.set_device_state("Stasis:stadtruf-agent-101", "NOT_INUSE"),
        "PUT",
        "/deviceStates/{deviceName}",
        "/deviceStates/Stasis%3Astadtruf-agent-101",
        {"deviceState": "NOT_INUSE"},
        None,
    ),
    (
        "originate",
        lambda r: r.originate(
            "PJSIP/agent-101",
            app="stadtruf",
            app_args="agent,115",
            caller_id="115 <115>",
            variables={"STADTRUF_CALL": "c1", "CALLERID(name)": "Bürgeramt"},
            channel_id="agent-c1",
            timeout=20,
            other_channel_id="agent-c1;2",
        ),
        "POST",
        "/channels",
        "/channels",
        {
            "endpoint": "PJSIP/agent-101",
            "app": "stadtruf",
            "appArgs": "agent,115",
            "callerId": "115 <115>",
            "timeout": "20",
            "channelId": "agent-c1",
            "otherChannelId": "agent-c1;2",
        },
        {"variables": {"STADTRUF_CALL": "c1", "CALLERID(name)": "Bürgeramt"}},
    ),
    (
        "create_channel",
        lambda r: r.create_channel(
            "PJSIP/agent-101",
            app="stadtruf",
            channel_id="agent-c2",
            originator="c1",
            variables={"STADTRUF_CALL": "c1"},
        ),
        "POST",
        "/channels/create",
        "/channels/create",
        {
            "endpoint": "PJSIP/agent-101",
            "app": "stadtruf",
            "channelId": "agent-c2",
            "originator": "c1",
        },
        {"variables": {"STADTRUF_CALL": "c1"}},
    ),
    (
        "dial",
        lambda r: r.dial("agent-c2", caller="c1", timeout=25),
        "POST",
        "/channels/{channelId}/dial",
        "/channels/agent-c2/dial",
        {"caller": "c1", "timeout": "25"},
        None,
    ),
    (
        "start_moh",
        lambda r: r.start_moh("c1", "warteschleife"),
        "POST",
        "/channels/{channelId}/moh",
        "/channels/c1/moh",
        {"mohClass": "warteschleife"},
        None,
    ),
    (
        "stop_moh",
        lambda r: r.stop_moh("c1"),
        "DELETE",
        "/channels/{channelId}/moh",
        "/channels/c1/moh",
        {},
        None,
    ),
    (
        "continue_in_dialplan",
        lambda r: r.continue_in_dialplan("c1", "stadtruf-fallback", "s", 1),
        "POST",
        "/channels/{channelId}/continue",
        "/channels/c1/continue",
        {"context": "stadtruf-fallback", "extension": "s", "priority": "1"},
        None,
    ),
    ("list_bridges", lambda r: r.list_bridges(), "GET", "/bridges", "/bridges", {}, None),
    (
        "create_bridge",
        lambda r: r.create_bridge("mixing,dtmf_events", bridge_id="b1", name="call-c1"),
        "POST",
        "/bridges",
        "/bridges",
        {"type": "mixing,dtmf_events", "bridgeId": "b1", "name": "call-c1"},
        None,
    ),
    (
        "destroy_bridge",
        lambda r: r.destroy_bridge("b1"),
        "DELETE",
        "/bridges/{bridgeId}",
        "/bridges/b1",
        {},
        None,
    ),
    (
        "add_channel",
        lambda r: r.add_channel("b1", "c1", role="caller"),
        "POST",
        "/bridges/{bridgeId}/addChannel",
        "/bridges/b1/addChannel",
        {"channel": "c1", "role": "caller"},
        None,
    ),
    (
        "remove_channel",
        lambda r: r.remove_channel("b1", "c1"),
        "POST",
        "/bridges/{bridgeId}/removeChannel",
        "/bridges/b1/removeChannel",
        {"channel": "c1"},
        None,
    ),
]


@pytest.mark.parametrize(
    ("call", "method", "template", "path", "query", "body"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
async def test_typed_method_sends_the_documented_request(
    fake_ari: FakeAri,
    rest: AriRest,
    call: Call,
    method: str,
    template: str,
    path: str,
    query: dict[str, str],
    body: Any,
) -> None:
    fake_ari.routes[(method, "/ari" + path)] = (200, {"value": "x", "id": "x"})
    async with asyncio.timeout(2):
        await call(rest)
    assert fake_ari.last == Recorded(method, "/ari" + path, query, body)


@pytest.mark.parametrize(
    ("method", "template", "query", "body"),
    [(c[2], c[3], c[5], c[6]) for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_parameter_names_match_asterisk_swagger(
    method: str, template: str, query: dict[str, str], body: Any
) -> None:
    if not SWAGGER_DIR.exists():
        pytest.fail(f"Asterisk Swagger files not found in {SWAGGER_DIR}: run ./dev test")
    op = _swagger_operation(method, template)
    documented = {p["name"]: p["paramType"] for p in op.get("parameters", [])}
    for name in query:
        assert documented.get(name) == "query", f"{name} is not a query parameter of {template}"
    if body is not None:
        body_params = {n for n, kind in documented.items() if kind == "body"}
        # eventFilter's one body parameter is the whole body (Asterisk: `args.filter = body`;
        # checked against Asterisk 22: the app then lists it under `events_disallowed`).
        assert set(body) <= body_params or body_params == {"filter"}
    required = {
        p["name"]
        for p in op.get("parameters", [])
        if p.get("required") and p["paramType"] == "query"
    }
    assert required <= set(query), f"required {required - set(query)} not sent"


async def test_recording_file_comes_as_bytes(fake_ari: FakeAri, rest: AriRest) -> None:
    fake_ari.routes[("GET", "/ari/recordings/stored/vm-1/file")] = (200, "RIFF....WAVE")
    async with asyncio.timeout(2):
        assert await rest.stored_recording_file("vm-1") == b"RIFF....WAVE"


async def test_void_operation_returns_none(fake_ari: FakeAri, rest: AriRest) -> None:
    fake_ari.routes[("POST", "/ari/channels/c1/answer")] = (204, None)
    # Seen as returning anything, so the test can look at what a void operation gives back.
    answer: Callable[[str], Awaitable[object]] = rest.answer
    async with asyncio.timeout(2):
        assert await answer("c1") is None


async def test_json_result_is_returned(fake_ari: FakeAri, rest: AriRest) -> None:
    fake_ari.routes[("GET", "/ari/channels")] = (200, [CHANNEL])
    fake_ari.routes[("POST", "/ari/channels/c1/play")] = (201, {"id": "p1", "state": "queued"})
    async with asyncio.timeout(2):
        assert await rest.list_channels() == [CHANNEL]
        assert (await rest.play("c1", "sound:hello"))["id"] == "p1"
    assert fake_ari.last.query == {"media": "sound:hello"}


async def test_originate_without_variables_sends_no_body(fake_ari: FakeAri, rest: AriRest) -> None:
    fake_ari.routes[("POST", "/ari/channels")] = (200, CHANNEL)
    async with asyncio.timeout(2):
        await rest.originate("PJSIP/agent-101", app="stadtruf")
    assert fake_ari.last.body is None
    assert fake_ari.last.query == {
        "endpoint": "PJSIP/agent-101",
        "app": "stadtruf",
        "timeout": "30",
    }


async def test_404_raises_not_found_with_asterisk_message(rest: AriRest) -> None:
    # The fake knows no routes: everything is 404 "Resource not found"; Asterisk says
    # "Channel not found" here, same status.
    async with asyncio.timeout(2):
        with pytest.raises(AriNotFound) as info:
            await rest.answer("1763736012.42")
    err = info.value
    assert (err.status, err.method, err.path) == (404, "POST", "/channels/1763736012.42/answer")
    assert str(err) == (
        "ARI POST /channels/1763736012.42/answer failed (HTTP 404): Resource not found"
    )
    assert isinstance(err, AriError)


async def test_get_var_unset_variable_is_none(fake_ari: FakeAri, rest: AriRest) -> None:
    path = "/ari/channels/c1/variable"
    fake_ari.routes[("GET", path)] = (404, {"message": "Provided variable was not found"})
    async with asyncio.timeout(2):
        assert await rest.get_var("c1", "STADTRUF_TOPIC") is None
        fake_ari.routes[("GET", path)] = (404, {"message": "Channel not found"})
        with pytest.raises(AriNotFound):
            await rest.get_var("c1", "STADTRUF_TOPIC")
        fake_ari.routes[("GET", path)] = (200, {"value": ""})
        assert await rest.get_var("c1", "STADTRUF_TOPIC") == ""


async def test_add_channel_gone_channel_is_not_found(fake_ari: FakeAri, rest: AriRest) -> None:
    # bridges.json documents "400 Channel not found" for addChannel/removeChannel.
    fake_ari.routes[("POST", "/ari/bridges/b1/addChannel")] = (
        400,
        {"message": "Channel not found"},
    )
    fake_ari.routes[("POST", "/ari/bridges/b1/removeChannel")] = (422, {"message": "not in bridge"})
    async with asyncio.timeout(2):
        with pytest.raises(AriNotFound) as info:
            await rest.add_channel("b1", "c1")
        assert info.value.status == 400
        with pytest.raises(AriError) as other:
            await rest.remove_channel("b1", "c1")
    assert type(other.value) is AriError
    assert other.value.status == 422


async def test_other_errors_keep_status_and_message(fake_ari: FakeAri, rest: AriRest) -> None:
    fake_ari.routes[("POST", "/ari/channels/c1/answer")] = (
        409,
        {"message": "Channel not in Stasis application"},
    )
    fake_ari.routes[("GET", "/ari/asterisk/info")] = (500, "<html>Internal Server Error</html>")
    async with asyncio.timeout(2):
        # A channel that left the app (hung up a moment ago) is the hangup race: AriNotFound.
        with pytest.raises(AriNotFound, match=r"HTTP 409.*Channel not in Stasis application"):
            await rest.answer("c1")
        with pytest.raises(AriError, match=r"HTTP 500.*Internal Server Error"):
            await rest.asterisk_info()


async def test_non_json_success_body_is_an_error(fake_ari: FakeAri, rest: AriRest) -> None:
    fake_ari.routes[("GET", "/ari/channels")] = (200, "surprise")
    async with asyncio.timeout(2):
        with pytest.raises(AriError, match="not JSON"):
            await rest.list_channels()


async def test_wrong_password_says_what_to_check(
    fake_ari: FakeAri, session: aiohttp.ClientSession
) -> None:
    rest = AriRest(session, fake_ari.base_url, USER, "wrong-" + PASSWORD, timeout=2)
    async with asyncio.timeout(2):
        with pytest.raises(AriError) as info:
            await rest.list_channels()
    assert info.value.status == 401
    assert "ari.conf" in str(info.value) and USER in str(info.value)
    assert PASSWORD not in str(info.value)


async def test_ids_are_percent_encoded(fake_ari: FakeAri, rest: AriRest) -> None:
    async with asyncio.timeout(2):
        with pytest.raises(AriNotFound):
            await rest.get_endpoint("PJSIP", "a/b c")
    assert fake_ari.last.path == "/ari/endpoints/PJSIP/a%2Fb%20c"


async def test_connection_refused_is_unavailable(session: aiohttp.ClientSession) -> None:
    with socket.socket() as s:  # a loopback port that nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    rest = AriRest(session, f"http://127.0.0.1:{port}/ari", USER, PASSWORD, timeout=2)
    async with asyncio.timeout(2):
        with pytest.raises(AriUnavailable) as info:
            await rest.list_channels()
    assert info.value.status is None
    assert f"127.0.0.1:{port}" in str(info.value) and "ari.conf" in str(info.value)
    assert PASSWORD not in str(info.value)


async def test_slow_asterisk_times_out_as_unavailable(
    fake_ari: FakeAri, session: aiohttp.ClientSession
) -> None:
    fake_ari.delay = 1.0
    rest = AriRest(session, fake_ari.base_url, USER, PASSWORD, timeout=0.1)
    async with asyncio.timeout(2):
        with pytest.raises(AriUnavailable):
            await rest.list_channels()


async def test_session_raise_for_status_does_not_bypass_mapping(fake_ari: FakeAri) -> None:
    async with aiohttp.ClientSession(raise_for_status=True) as s:
        rest = AriRest(s, fake_ari.base_url, USER, PASSWORD, timeout=2)
        async with asyncio.timeout(2):
            with pytest.raises(AriNotFound):
                await rest.get_channel("gone")


async def test_repr_hides_password(rest: AriRest) -> None:
    assert PASSWORD not in repr(rest)
    assert USER in repr(rest)


@pytest.mark.parametrize(
    "url",
    [
        f"http://{USER}:{PASSWORD}@127.0.0.1:8088/ari",
        "ftp://127.0.0.1/ari",
        "127.0.0.1:8088/ari",
        "http://127.0.0.1:8088/ari?api_key=x",
    ],
)
async def test_bad_base_url_is_refused(session: aiohttp.ClientSession, url: str) -> None:
    with pytest.raises(ValueError) as info:
        AriRest(session, url, USER, PASSWORD)
    assert PASSWORD not in str(info.value)


async def test_base_url_trailing_slash(session: aiohttp.ClientSession) -> None:
    assert AriRest(session, "http://127.0.0.1:8088/ari/", USER, PASSWORD).base_url == (
        "http://127.0.0.1:8088/ari"
    )


@pytest.mark.parametrize("media", [[], "", ["sound:a,b"], ["sound:a", ""]])
async def test_play_rejects_unsendable_media(rest: AriRest, media: list[str] | str) -> None:
    with pytest.raises(ValueError, match="media"):
        await rest.play("c1", media)


async def test_empty_id_is_refused_before_sending(fake_ari: FakeAri, rest: AriRest) -> None:
    with pytest.raises(ValueError, match="must not be empty"):
        await rest.hangup("")
    assert fake_ari.requests == []


def test_case_table_covers_every_public_method() -> None:
    public = {
        n for n in dir(AriRest) if not n.startswith("_") and callable(getattr(AriRest, n))
    } - {"request", "request_bytes"}
    assert public == {c[0] for c in CASES}
    assert all(re.fullmatch(r"/[\w{}/]*", c[3]) for c in CASES)
