"""What one ARI request costs Asterisk, by the way ari.conf keeps the password.

    .venv/bin/python -m benchmarks.ari_auth [--requests 2000] [--concurrency 8]

Asterisk checks the ARI password on every request (HTTP Basic auth, and REST over the
WebSocket with the upgrade's headers), so the crypt scheme in ari.conf is paid ~24 times per
call. For each scheme this starts the ServiceCenter's Asterisk on 127.0.7.1 with that hash and
sends the same request (`POST /asterisk/variable`) `--requests` times, over HTTP and over the
ARI WebSocket (Asterisk 22.4+), and prints the CPU milliseconds per request of Asterisk and of
this client. The result is docs/decisions.md #15 (render-config.sh's hash).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import re
import resource
import secrets
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import structlog

from ari_app.connection import basic_auth_header
from ari_app.rest import AriRest
from benchmarks.flow import asterisk_pid, cpu_seconds
from benchmarks.flow_setup import PLAN, agents_config
from stadtruf.asterisk.dialplan import numbers_conf
from stadtruf.asterisk.instance import AsteriskInstance
from stadtruf.asterisk.topology import ARI_USER, servicecenter_settings
from stadtruf.config import load
from stadtruf.paths import sample_config_dir

# The schemes compared: what ari.conf's `password` line holds (None: the password itself).
SCHEMES: dict[str, str | None] = {
    "plain": None,
    "sha1crypt, 64 iterations": "$sha1$64$",
    "md5crypt": "$1$",
    "sha512crypt, 1000 rounds": "$6$rounds=1000$",
}


def ari_conf_password(password: str, prefix: str | None) -> tuple[str, str]:
    """ari.conf's `password` and `password_format` for `password` under the scheme `prefix`."""
    if prefix is None:
        return password, "plain"
    salt = secrets.token_urlsafe(12).replace("-", ".").replace("_", "/")
    # crypt(3) through perl, as render-config.sh does it (Python's crypt module is going).
    hashed = subprocess.run(
        ["perl", "-e", "print crypt($ENV{PASSWORD}, $ENV{SALT})"],
        env={**os.environ, "PASSWORD": password, "SALT": prefix + salt + "$"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if not hashed.startswith(prefix):
        raise RuntimeError(f"this libcrypt does not know {prefix}")
    return hashed, "crypt"


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def per_request(
    send: Callable[[int], Awaitable[None]], pid: int, requests: int, concurrency: int
) -> tuple[float, float]:
    """CPU ms per request of Asterisk (`pid`) and of this process, `requests` sends."""
    slots = asyncio.Semaphore(concurrency)

    async def one(i: int) -> None:
        async with slots:
            await send(i)

    asterisk, client = cpu_seconds(pid), own_cpu()
    await asyncio.gather(*(one(i) for i in range(requests)))
    return (
        1000 * (cpu_seconds(pid) - asterisk) / requests,
        1000 * (own_cpu() - client) / requests,
    )


async def measure_scheme(
    workdir: Path, prefix: str | None, requests: int, concurrency: int
) -> dict[str, tuple[float, float]]:
    config = load(sample_config_dir())
    password = secrets.token_urlsafe(24)
    settings = servicecenter_settings(
        PLAN,
        password,
        numbers_conf(config, agents_config(1)),
        capacity=config.service_center.capacity,
    )
    center = AsteriskInstance(settings, workdir / "servicecenter")
    render = center.prepare

    def prepare() -> None:
        render()
        ari = center.etc / "ari.conf"
        stored, kind = ari_conf_password(password, prefix)
        text = re.sub(r"(?m)^password = .*$", lambda _: f"password = {stored}", ari.read_text())
        text = re.sub(r"(?m)^password_format = .*$", f"password_format = {kind}", text)
        ari.write_text(text)

    center.prepare = prepare  # type: ignore[method-assign]
    center.start()
    try:
        pid = asterisk_pid(center.directory)
        return await _both_ways(settings.ari_url, password, pid, requests, concurrency)
    finally:
        center.stop()


async def _both_ways(
    url: str, password: str, pid: int, requests: int, concurrency: int
) -> dict[str, tuple[float, float]]:
    async with aiohttp.ClientSession() as session:
        rest = AriRest(session, url, ARI_USER, password)
        ws = await session.ws_connect(
            url.replace("http", "ws", 1) + "/events?app=ari-auth&subscribeAll=false",
            headers=basic_auth_header(ARI_USER, password),
        )
        pending: dict[str, asyncio.Future[dict[str, object]]] = {}

        async def answers() -> None:
            async for message in ws:
                data = json.loads(message.data)
                if data.get("type") == "RESTResponse":
                    pending.pop(str(data["request_id"])).set_result(data)

        reader = asyncio.create_task(answers())
        ids = itertools.count()

        async def over_http(i: int) -> None:
            await rest.request(
                "POST", "/asterisk/variable", params={"variable": f"X{i % 10}", "value": "y"}
            )

        async def over_websocket(i: int) -> None:
            request_id = str(next(ids))
            pending[request_id] = asyncio.get_running_loop().create_future()
            query = [{"name": "variable", "value": f"X{i % 10}"}, {"name": "value", "value": "y"}]
            await ws.send_str(
                json.dumps(
                    {
                        "type": "RESTRequest",
                        "request_id": request_id,
                        "method": "POST",
                        "uri": "asterisk/variable",
                        "query_strings": query,
                    }
                )
            )
            answer = await pending[request_id]
            assert answer["status_code"] == 204, answer

        try:
            await per_request(over_http, pid, 200, concurrency)  # warm-up
            return {
                "HTTP": await per_request(over_http, pid, requests, concurrency),
                "WebSocket": await per_request(over_websocket, pid, requests, concurrency),
            }
        finally:
            reader.cancel()
            await ws.close()


async def run(args: argparse.Namespace) -> None:
    print(f"{args.requests} requests each, {args.concurrency} at a time; CPU ms per request")
    print(f"{'scheme':28s} {'transport':10s} {'Asterisk':>9s} {'client':>7s}")
    for name, prefix in SCHEMES.items():
        with tempfile.TemporaryDirectory(prefix="stadtruf-ari-auth-") as workdir:
            figures = await measure_scheme(Path(workdir), prefix, args.requests, args.concurrency)
        for transport, (asterisk, client) in figures.items():
            print(f"{name:28s} {transport:10s} {asterisk:9.3f} {client:7.3f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per scheme and way")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight")
    # The client's figure is the request's own cost, not a log line's.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
