"""The SIP ban on a running Asterisk: reads its security log, bans with a PJSIP ACL.

The rule is `stadtruf.core.bans`; this adapter follows Asterisk's ``security.log`` (logger.conf,
res_security_log), writes ``pjsip_bans.conf`` into the instance's etc/ (included by pjsip.conf)
and has Asterisk reload its ACLs over ARI. A ban and its lifting are a warning / info log line
(``sip.address_banned``, ``sip.ban_lifted``) and Prometheus figures (`BanCollector`):

    stadtruf_sip_banned_addresses           addresses banned now
    stadtruf_sip_bans_total                 bans since start
    stadtruf_sip_security_failures_total    failed requests counted (Asterisk security events)
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from stadtruf.core.bans import (
    FAILURE_EVENTS,
    BanRule,
    acl_conf,
    bans_from_conf,
    expire,
    observe,
    parse_security_line,
    trusted_networks,
)
from stadtruf.retention import connected_rest
from stadtruf.store.durable import write_atomically

if TYPE_CHECKING:  # the service imports the asterisk adapters, not the other way round
    from stadtruf.config import ServiceCenterConfig
    from stadtruf.service import Service

log = structlog.get_logger(__name__)

BANS_FILE = "pjsip_bans.conf"
# res_pjsip_acl.so cannot reload itself; its ACLs are res_pjsip objects (calls go on).
ACL_MODULE = "res_pjsip.so"
# How much of the log one poll reads at most: a flood is taken in bounded bites.
READ_CHUNK = 1 << 20


class BanGuard:
    """Follows `security_log` from its current end; bans into `etc/pjsip_bans.conf`.

    `reload` makes Asterisk read the ACL again (ARI module reload) and says whether it could
    (False: Asterisk not reachable this moment; the next round tries again). `run()` polls every
    `poll_s` seconds until cancelled; `poll()` is one round (tests call it directly)."""

    def __init__(
        self,
        security_log: Path,
        etc: Path,
        rule: BanRule,
        reload: Callable[[], Awaitable[bool]],
        *,
        clock: Callable[[], float] = time.time,
        poll_s: float = 0.5,
    ) -> None:
        self.security_log = security_log
        self.conf = etc / BANS_FILE
        self.rule = rule
        self._reload = reload
        self._clock = clock
        self._poll_s = poll_s
        self._offset: int | None = None
        self._partial = b""
        self.bans_total = 0
        self.failures_total = 0
        previous = self.conf.read_text(errors="replace") if self.conf.exists() else ""
        self.bans = bans_from_conf(previous, clock())
        self._written = previous
        # Asterisk has to read the file at least once (the bans still in force from the last
        # run, none lifted early); true until a reload succeeded.
        self._dirty = True

    def banned(self) -> tuple[str, ...]:
        return self.bans.active(self._clock())

    async def run(self) -> None:
        while True:
            try:
                await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("sip.ban_guard_failed", log_file=str(self.security_log))
            await asyncio.sleep(self._poll_s)

    async def poll(self) -> None:
        now = self._clock()
        changed = False
        for line in self._new_lines():
            event = parse_security_line(line)
            if event is None:
                continue
            if event.name in FAILURE_EVENTS:
                self.failures_total += 1
            self.bans, decision = observe(self.bans, self.rule, event, now)
            if decision is not None:
                self.bans_total += 1
                changed = True
                log.warning(
                    "sip.address_banned",
                    address=decision.address,
                    failures=decision.failures,
                    last_event=decision.last_event,
                    account=decision.account,
                    ban_s=self.rule.ban_s,
                    hint="Sperre aufheben: Adresse in sip_bans.trusted_networks eintragen "
                    f"oder {self.conf} leeren und PJSIP neu laden",
                )
        self.bans, lifted = expire(self.bans, now)
        for address in lifted:
            changed = True
            log.info("sip.ban_lifted", address=address)
        if changed or self._dirty:
            await self._apply()

    async def _apply(self) -> None:
        text = acl_conf({a: self.bans.banned[a] for a in self.bans.active(self._clock())})
        if text != self._written:
            write_atomically(self.conf, text.encode())
            self._written = text
            self._dirty = True
        if self._dirty:
            self._dirty = not await self._reload()

    def _new_lines(self) -> Iterator[str]:
        try:
            size = self.security_log.stat().st_size
        except FileNotFoundError:
            return
        if self._offset is None:
            self._offset = size  # from now on: earlier failures were before this run
        if size < self._offset:  # rotated or truncated: start over
            self._offset, self._partial = 0, b""
        if size == self._offset:
            return
        with self.security_log.open("rb") as f:
            f.seek(self._offset)
            data = f.read(READ_CHUNK)
        self._offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()[-READ_CHUNK:]
        for raw in lines:
            yield raw.decode(errors="replace")


class BanCollector(Collector):
    """The guard's figures for `/metrics` (registered on the live figures' registry)."""

    def __init__(self, guard: BanGuard) -> None:
        self.guard = guard

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "stadtruf_sip_banned_addresses",
            "Addresses banned now after repeated SIP failures",
            value=len(self.guard.banned()),
        )
        yield CounterMetricFamily(
            "stadtruf_sip_bans",
            "Addresses banned since the start",
            value=self.guard.bans_total,
        )
        yield CounterMetricFamily(
            "stadtruf_sip_security_failures",
            "Failed SIP requests counted from Asterisk's security events",
            value=self.guard.failures_total,
        )


def guard_instance(
    service: Service,
    config: ServiceCenterConfig,
    instance_dir: Path,
    etc: Path,
    always_trusted: Iterable[str] = (),
) -> BanGuard:
    """The ban for the ServiceCenter Asterisk in `instance_dir` (its log/security.log) as
    `sip_bans:` says; `always_trusted`: the carrier trunk's address, never banned. Its figures
    join the service's `/metrics`."""
    settings = config.service_center.sip_bans
    rule = BanRule(
        max_failures=settings.max_failures,
        window_s=settings.window_s,
        ban_s=settings.ban_s,
        trusted=(*settings.trusted_networks, *trusted_networks(always_trusted)),
    )

    async def reload() -> bool:
        rest = connected_rest(service.app)
        if rest is None:
            return False  # not connected yet (start) or just now: the next round
        await rest.reload_module(ACL_MODULE)
        log.info("sip.bans_reloaded", banned=len(guard.banned()))
        return True

    guard = BanGuard(instance_dir / "log" / "security.log", etc, rule, reload)
    if service.figures is not None:
        service.figures.registry.register(BanCollector(guard))
    return guard


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


__all__ = ["ACL_MODULE", "BANS_FILE", "BanCollector", "BanGuard", "guard_instance", "stop"]
