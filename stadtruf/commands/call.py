"""`stadtruf call`: a real SIP test call through the running service center.

The admin's check after editing YAML: the test carrier (the second Asterisk of `stadtruf up`)
calls the ServiceCenter like a citizen would, presses the digits after each prompt has begun,
and reports what the ServiceCenter did and what the receiving side got.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from ari_app.events import Event
from stadtruf import logging as stadtruf_logging
from stadtruf.asterisk.topology import ARI_USER, DEFAULT_PLAN
from stadtruf.cli import Subcommands
from stadtruf.observer import Observer
from stadtruf.paths import run_dir
from stadtruf.testcall import CallFailed, TestCarrier

_REPORTED_VARIABLES = ("STADTRUF_CLIENT", "STADTRUF_TOPIC", "STADTRUF_ROUTE")


def register(sub: Subcommands) -> None:
    parser = sub.add_parser(
        "call",
        help="echter SIP-Testanruf über den laufenden Dienst (stadtruf up)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("number", help="gewählte Nummer, z. B. 115 oder 02041700")
    parser.add_argument("--from", dest="caller", default="02041123456", help="Rufnummer")
    parser.add_argument("--diversion", help="umgeleitet von (Diversion), z. B. 02064660")
    parser.add_argument("--withheld", action="store_true", help="Rufnummer unterdrückt")
    parser.add_argument("--digits", default="", help="Tasten, z. B. 2,1")
    parser.add_argument("--address", default=DEFAULT_PLAN.servicecenter)
    parser.add_argument("--carrier-address", default=DEFAULT_PLAN.carrier)
    parser.add_argument("--wait", type=float, default=30.0, help="Sekunden je Schritt")
    parser.set_defaults(func=call_command)


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)

    def say(self, text: str) -> None:
        self.lines.append(text)
        print(text, flush=True)


def call_command(args: argparse.Namespace) -> int:
    stadtruf_logging.configure(level="WARNING")  # the report is the output, not the logs
    password = os.environ.get("STADTRUF_ARI_PASSWORD")
    if not password:
        try:
            password = (run_dir() / "ari-password").read_text().strip()
        except FileNotFoundError:
            print("Kein laufender Dienst: erst ./dev up starten.", file=sys.stderr)
            return 2
    digits = [d.strip() for d in args.digits.split(",") if d.strip()]
    return asyncio.run(_call(args, password, digits))


async def _call(args: argparse.Namespace, password: str, digits: list[str]) -> int:
    report = Report()
    async with aiohttp.ClientSession() as session:
        observer = Observer(session, f"http://{args.address}:8088/ari", ARI_USER, password)
        carrier = TestCarrier(
            session, f"http://{args.carrier_address}:8088/ari", ARI_USER, password
        )
        await observer.start()
        await carrier.start()
        try:
            return await _walk(args, digits, observer, carrier, report)
        finally:
            await carrier.close()
            await observer.close()


def _is_prompt(channel: str) -> Any:
    return lambda e: e.type == "PlaybackStarted" and e.channel_id == channel


async def _walk(
    args: argparse.Namespace,
    digits: list[str],
    observer: Observer,
    carrier: TestCarrier,
    report: Report,
) -> int:
    since = observer.mark()
    caller = None if args.withheld else args.caller
    report.say(
        f"Anruf {args.number} von {caller or 'unterdrückt'}"
        + (f", umgeleitet von {args.diversion}" if args.diversion else "")
    )
    try:
        call = await carrier.call(
            args.number, caller=caller, diversion=args.diversion, withheld=args.withheld
        )
    except CallFailed as exc:
        report.say(f"nicht angenommen: {exc}")
        return 1
    channel = await observer.channel_of_caller(caller or "anonymous", since=since)
    report.say(f"angenommen (Kanal {channel})")
    mark = since
    try:
        for digit in digits:
            prompt = await observer.wait_for(_is_prompt(channel), since=mark, timeout=args.wait)
            report.say(f"  Ansage {prompt.raw['playback']['media_uri']}")
            mark = observer.mark()
            await call.dtmf(digit)
            report.say(f"  Taste {digit}")
        outcome = await _outcome(observer, carrier, channel, mark, args.wait)
        report.say(outcome)
        for name in _REPORTED_VARIABLES:
            value = _last_var(observer.events[since:], channel, name)
            report.say(f"  {name} = {value}")
        reason = _last_var(observer.events[since:], channel, "STADTRUF_ORIGIN_REASON")
        report.say(f"  Herkunft: {reason}")
    except TimeoutError:
        report.say(f"keine Reaktion innerhalb von {args.wait:.0f} s")
        return 1
    finally:
        await call.hangup()
    return 0


async def _outcome(
    observer: Observer, carrier: TestCarrier, channel: str, since: int, wait: float
) -> str:
    queued = asyncio.ensure_future(
        observer.wait_for(
            lambda e: e.type == "ChannelEnteredBridge" and e.channel_id == channel,
            since=since,
            timeout=wait,
        )
    )
    ended = asyncio.ensure_future(
        observer.wait_for(
            lambda e: e.type == "ChannelDestroyed" and e.channel_id == channel,
            since=since,
            timeout=wait,
        )
    )
    transferred = asyncio.ensure_future(carrier.incoming.get())
    done, pending = await asyncio.wait(
        {queued, ended, transferred}, timeout=wait, return_when=asyncio.FIRST_COMPLETED
    )
    for task in pending:
        task.cancel()
    if queued in done:
        return f"Warteschlange: Brücke {queued.result().bridge_id} (Übergabe an die Agenten)"
    if transferred in done:
        office: Event = transferred.result()
        ch = office.raw["channel"]
        await carrier.rest.hangup(ch["id"])
        return (
            f"Weitergeleitet an {ch['dialplan']['exten']}: Anzeige '{ch['caller']['name']}', "
            f"X-Origin-City: {ch['channelvars'].get('X_ORIGIN_CITY')}, "
            f"X-Topic: {ch['channelvars'].get('X_TOPIC')}"
        )
    if ended in done:
        return "Anruf vom Servicecenter beendet (Ansage und Auflegen)"
    raise TimeoutError


def _last_var(events: list[Event], channel: str, name: str) -> str | None:
    value = None
    for event in events:
        if (
            event.type == "ChannelVarset"
            and event.channel_id == channel
            and event.raw.get("variable") == name
        ):
            value = event.raw.get("value")
    return value
