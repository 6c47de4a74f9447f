"""Issue #13 over real SIP: malformed and hostile INVITEs over the trunk crash nothing.

Raw INVITEs from the carrier's address (the trunk is identified by it) with dialplan
expressions, quotes, CR-less garbage, 1,000 characters and non-UTF-8 bytes in From,
P-Asserted-Identity and Diversion. Each gets a final answer; an answered one is ended with BYE.
Afterwards the app still answers a normal call, no channel is left (the session's check), and
every line the app logged is whole JSON with no injected header line. A caller-ID name full of
dialplan expressions reaches the agent's display as plain text behind our mark.
"""

from __future__ import annotations

import asyncio
import io
import json
import socket
import uuid
from pathlib import Path

import structlog

from stadtruf import logging as stadtruf_logging
from stadtruf.testcall import TestCarrier
from tests.integration.conftest import Site
from tests.integration.phones import Phones
from tests.integration.support import Observer, eventually, on_channel
from tests.integration.test_queue import queue_service, talking

CARRIER_USER = "02041123456"
LONG = "9" * 1000
NON_UTF8 = b"M\xfcller \xff\xfe"
HOSTILE: list[dict[str, bytes]] = [
    {"From": b'"${SHELL(id)} $[1+1]\\" X-Injected: 1" <sip:02041123456@{host}>'},
    {"From": b'"' + NON_UTF8 + b'" <sip:02041123456@{host}>'},
    {"From": b"<sip:" + LONG.encode() + b"@{host}>"},
    {"P-Asserted-Identity": b"<sip:;;;@@@>"},
    {"P-Asserted-Identity": b"garbage without brackets \"'"},
    {"P-Asserted-Identity": b'"${EXTEN}" <tel:+>', "Privacy": b"id"},
    {"Diversion": b"<sip:>;reason="},
    {"Diversion": b"<sip:02064660@x>;counter=99999999999999999999999;reason=${SHELL(id)}"},
    {"Diversion": b"<sip:" + ("0" * 1000).encode() + b"@x>;reason=unconditional"},
    {"Diversion": b"<sip:02064660@x"},
]


def invite(host: str, port: int, target: str, extra: dict[str, bytes]) -> tuple[bytes, str]:
    call_id = uuid.uuid4().hex
    sdp = (
        f"v=0\r\no=- 1 1 IN IP4 {host}\r\ns=-\r\nc=IN IP4 {host}\r\nt=0 0\r\n"
        f"m=audio {port + 2} RTP/AVP 8\r\na=rtpmap:8 PCMA/8000\r\n"
    ).encode()
    headers = {
        "Via": f"SIP/2.0/UDP {host}:{port};branch=z9hG4bK{call_id[:12]};rport".encode(),
        "Max-Forwards": b"70",
        "From": f"<sip:{CARRIER_USER}@{host}>".encode(),
        "To": f"<sip:115@{target}>".encode(),
        "Call-ID": call_id.encode(),
        "CSeq": b"1 INVITE",
        "Contact": f"<sip:{CARRIER_USER}@{host}:{port}>".encode(),
        "Content-Type": b"application/sdp",
    }
    for name, value in extra.items():
        headers[name] = value.replace(b"{host}", host.encode())
    headers["From"] = headers["From"] + f";tag={call_id[:8]}".encode()
    lines = [f"INVITE sip:115@{target}:5060 SIP/2.0".encode()]
    lines += [name.encode() + b": " + value for name, value in headers.items()]
    lines += [f"Content-Length: {len(sdp)}".encode(), b"", sdp]
    return b"\r\n".join(lines), call_id


def in_dialog(method: str, response: bytes, host: str, port: int, target: str, cseq: int) -> bytes:
    """ACK or BYE for the dialog a 200 OK opened (From, To with tag, Call-ID from it)."""
    fields: dict[str, str] = {}
    for line in response.decode(errors="surrogateescape").split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.lower() in ("from", "to", "call-id") and name.lower() not in fields:
            fields[name.lower()] = value.strip()
    branch = uuid.uuid4().hex[:12]
    text = (
        f"{method} sip:115@{target}:5060 SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {host}:{port};branch=z9hG4bK{branch};rport\r\n"
        f"Max-Forwards: 70\r\nFrom: {fields['from']}\r\nTo: {fields['to']}\r\n"
        f"Call-ID: {fields['call-id']}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n"
    )
    return text.encode(errors="surrogateescape")


def place(host: str, target: str, extra: dict[str, bytes]) -> str:
    """One hostile INVITE to the end: its final status; answered calls are hung up."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        sock.settimeout(15)
        port = sock.getsockname()[1]
        message, _ = invite(host, port, target, extra)
        sock.sendto(message, (target, 5060))
        for _ in range(50):  # bounded: provisional answers and retransmissions
            data = sock.recv(65535)
            status = data.split(b"\r\n", 1)[0].decode(errors="replace")
            if status.startswith("SIP/2.0 1"):
                continue
            if status.startswith("SIP/2.0 200"):
                sock.sendto(in_dialog("ACK", data, host, port, target, 1), (target, 5060))
                sock.sendto(in_dialog("BYE", data, host, port, target, 2), (target, 5060))
                for _ in range(50):  # until the BYE's answer (200 OKs of the INVITE repeat)
                    reply = sock.recv(65535)
                    if b" BYE\r\n" in reply and reply.startswith(b"SIP/2.0 "):
                        break
                return status
            return status  # refused (PJSIP ACKs itself on its retransmission timer)
    raise AssertionError("no final answer")


async def test_hostile_invites_over_the_trunk_crash_nothing(
    site: Site, app: object, carrier: TestCarrier, observer: Observer
) -> None:
    values = site.center.settings.template_values()
    host, target = values["CARRIER_ADDRESS"], values["BIND_ADDRESS"]
    out = io.StringIO()
    stadtruf_logging.configure(json=True, file=out)
    try:
        statuses = []
        for extra in HOSTILE:
            statuses.append(await asyncio.to_thread(place, host, target, extra))
            await asyncio.sleep(0.3)
        # Every INVITE got a final answer: answered by the app, or refused by PJSIP.
        assert all(s.startswith("SIP/2.0 ") for s in statuses), statuses
        assert any(s.startswith("SIP/2.0 200") for s in statuses), statuses
        # The app goes on: a normal call is answered and greeted.
        since = observer.mark()
        call = await carrier.call("115", caller="02041555777")
        channel = await observer.channel_of_caller("02041555777", since=since)
        await observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since)
        await call.hangup()
        await asyncio.sleep(1)
    finally:
        structlog.reset_defaults()
    lines = out.getvalue().splitlines()
    assert lines
    for line in lines:
        event = json.loads(line)
        assert event.get("level") != "error" or "handler_failed" not in line, line
    assert "call.handler_failed" not in out.getvalue()
    assert "\nX-Injected" not in out.getvalue()


async def test_a_hostile_caller_name_reaches_the_agent_only_as_plain_text(
    site: Site, carrier: TestCarrier, observer: Observer, phones: Phones, tmp_path: Path
) -> None:
    """The annotation the agent sees: our mark, the name as text, nothing evaluated."""
    name = "${SHELL(id)} $[1+1] ${EXTEN} " + "W" * 200
    phones.behaviour.update({"agent-101": "answer", "agent-102": "busy", "agent-103": "busy"})
    async with queue_service(site, tmp_path, logged_in=("agent-101",)):
        since = observer.mark()
        call = await carrier.call("02041700", caller="02041555778", caller_name=name)
        channel = await observer.channel_of_caller("02041555778", since=since)
        await observer.wait_for(on_channel(channel, "PlaybackStarted"), since=since)
        await call.dtmf("0")
        ring = await phones.next_answered()
        await talking(observer, since)
        shown = ring.caller_id_name
        await call.hangup()
        await eventually(lambda: ring.channel_id in phones.ended, timeout=10)
    assert shown.startswith("[BOT] Vermittlung · ${SHELL(id)} $[1+1]"), shown
    assert len(shown) <= 40 and "uid=" not in shown and "\r" not in shown
