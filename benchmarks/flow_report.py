"""The tables of benchmarks.flow, Markdown as docs/benchmarks-flow.md has them."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from benchmarks.flow import Result


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _ratio(value: float | None, base: float | None) -> str:
    return "—" if value is None or not base else f"{value / base:.2f}"


def _delta(value: float | None, base: float | None) -> str:
    # The target is a difference (p99 within 30 ms of native); the native median is ~0-1 ms at
    # Asterisk's millisecond timestamps, so a ratio would mean nothing.
    return "—" if value is None or base is None else f"{value - base:+.0f} ms"


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def report(heading: str, results: list[Result]) -> None:
    print(heading)
    base = results[0]
    print(
        "| flow | ok / failed (SIPp) | bridged to an agent | peak callers (waiting / bridged) "
        "| answered per s | ratio |"
    )
    print("|---|---|---|---|---|---|")
    for r in results:
        s = r.seen
        rate = s.setup_rate
        print(
            f"| {r.name} | {r.ok} / {r.failed} | {s.connected} | {s.peak_callers} "
            f"({s.peak_waiting} / {s.peak_bridged}) | {rate or 0:.1f} | "
            f"{_ratio(rate, base.seen.setup_rate)} |"
        )
    print()
    print(
        "| flow | CPU ms per call: Asterisk | app | both | ratio | load side: SIPp / phones "
        "| app memory per call |"
    )
    print("|---|---|---|---|---|---|---|")
    base_total = base.per_call_ms("Asterisk") + base.per_call_ms("app")
    for r in results:
        total = r.per_call_ms("Asterisk") + r.per_call_ms("app")
        peak = max(1, r.seen.peak_callers)
        memory = (
            f"{1024 * (r.app_rss_peak - r.app_rss_base) / peak:.0f} kB "
            f"({r.app_rss_base:.0f} → {r.app_rss_peak:.0f} MB)"
            if "app" in r.cpu
            else "—"
        )
        print(
            f"| {r.name} | {r.per_call_ms('Asterisk'):.1f} | "
            f"{r.per_call_ms('app') if 'app' in r.cpu else 0:.1f} | {total:.1f} | "
            f"{_ratio(total, base_total)} | {r.per_call_ms('SIPp'):.1f} / "
            f"{r.per_call_ms('phones'):.1f} | {memory} |"
        )
    print()
    print(
        "| flow | DTMF → next prompt p50 / p99 (ms) | p99 − native p99 | n "
        "| agent answer → connected p50 / p99 (ms) | ratio | n |"
    )
    print("|---|---|---|---|---|---|---|")
    for r in results:
        d50, d99 = percentile(r.seen.dtmf_ms, 50), percentile(r.seen.dtmf_ms, 99)
        c50, c99 = percentile(r.seen.connect_ms, 50), percentile(r.seen.connect_ms, 99)
        b = base.seen
        print(
            f"| {r.name} | {_ms(d50)} / {_ms(d99)} | "
            f"{_delta(d99, percentile(b.dtmf_ms, 99))} | {len(r.seen.dtmf_ms)} | "
            f"{_ms(c50)} / {_ms(c99)} | "
            f"{_ratio(c50, percentile(b.connect_ms, 50))} / "
            f"{_ratio(c99, percentile(b.connect_ms, 99))} | {len(r.seen.connect_ms)} |"
        )
    for r in results:
        if r.left:
            print(f"{r.name}: {r.left} callers still on the ServiceCenter after the run")
