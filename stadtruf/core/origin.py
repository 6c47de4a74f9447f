"""Which client does a call belong to? Decided from numbers alone, with the reason kept.

Rules, first match wins (each is a `Rule`, the reason text says what matched):

1. ``diversion`` – the SIP Diversion header names a client's switchboard number: a town's PBX
   forwarded its switchboard to us. Beats everything, because the dialled number is then ours.
2. ``switchboard`` – the dialled number is a client's switchboard number.
3. ``area_code`` – otherwise (115, or a dialled number no client owns) the caller's area code;
   the longest configured prefix wins (``02045`` Kirchhellen beats a broader ``0204``).
   ``tie_break`` – several clients claim that prefix and service-center.yaml names the winner.
4. Nothing decided (withheld or foreign caller, unknown area code, tie-break ``ask``):
   ``town_menu`` – ask the caller "which town?" (`needs_town_menu`), or ``default_client``.

Pure: no I/O, numbers go through `stadtruf.core.numbers.normalize` first; the dialled number
through `called_number`, which reads every form the dialplan accepts for one of our numbers
(``492041700`` too) as that number. Caller and Diversion numbers are not reread: without ``+``
or ``00`` a leading 49 may belong to a local subscriber number.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from stadtruf.config import ASK, ServiceCenterConfig
from stadtruf.config.agents import DialledKind
from stadtruf.core.numbers import called_number, is_national, normalize
from stadtruf.core.record import SHORTENED, stored_caller


class Rule(StrEnum):
    DIVERSION = "diversion"
    SWITCHBOARD = "switchboard"
    AREA_CODE = "area_code"
    TIE_BREAK = "tie_break"
    TOWN_MENU = "town_menu"
    DEFAULT_CLIENT = "default_client"


@dataclass(frozen=True)
class OriginDecision:
    """The outcome, kept with the call (logs, channel variables, the agent's display)."""

    client_id: str | None  # None only with needs_town_menu
    rule: Rule
    reason: str  # for people: which number or prefix matched, or why none did
    needs_town_menu: bool = False
    matched: str | None = None  # the number or area-code prefix that decided
    candidates: tuple[str, ...] = ()  # clients in question when the area code was ambiguous


def resolve(
    cfg: ServiceCenterConfig,
    *,
    dialled: str | None,
    caller: str | None,
    diversion: str | None,
) -> OriginDecision:
    """Decide the client of a call; see the module docstring for the rules."""
    notes: list[str] = []

    diverted_from = normalize(diversion)
    if diverted_from is not None:
        client_id = cfg.switchboards.get(diverted_from)
        if client_id is not None:
            return OriginDecision(
                client_id,
                Rule.DIVERSION,
                f"umgeleitet von der Zentrale {diverted_from} ({client_id})",
                matched=diverted_from,
            )
        notes.append(f"Umleitung von {_short(diverted_from)} gehört keinem Kunden")

    number = called_number(dialled, cfg.routed_numbers)
    if number is not None:
        client_id = cfg.switchboards.get(number)
        if client_id is not None:
            return OriginDecision(
                client_id,
                Rule.SWITCHBOARD,
                f"Zentrale {number} gewählt ({client_id})",
                matched=number,
            )
        if number in cfg.service_center.service_numbers:
            notes.append(f"{number} gewählt")
        else:
            notes.append(f"gewählte Nummer {_bounded(number)} gehört keinem Kunden")
    else:
        notes.append("keine gewählte Nummer")

    return _by_area_code(cfg, normalize(caller), notes)


def _short(number: str) -> str:
    """A caller's (or forwarder's) number as a reason may show it: the reason is a channel
    variable and a log line, so only the area code (docs/security.md), never the whole."""
    return stored_caller(number, "area_code") or SHORTENED


def _bounded(number: str, limit: int = 24) -> str:
    """A dialled number from the carrier, cut so that a reason stays one short line."""
    return number if len(number) <= limit else number[:limit] + SHORTENED


def _by_area_code(cfg: ServiceCenterConfig, caller: str | None, notes: list[str]) -> OriginDecision:
    if caller is None:
        return _undecided(cfg, [*notes, "Rufnummer des Anrufers unterdrückt oder unbekannt"])
    if not is_national(caller):
        what = "aus dem Ausland" if caller.startswith("00") else "ohne Vorwahl"
        return _undecided(cfg, [*notes, f"Anrufer {_short(caller)} {what}"])

    for length in range(len(caller), 1, -1):
        prefix = caller[:length]
        owners = cfg.area_codes.get(prefix)
        if not owners:
            continue
        if len(owners) == 1:
            return OriginDecision(
                owners[0],
                Rule.AREA_CODE,
                "; ".join([*notes, f"Vorwahl {prefix} des Anrufers ({owners[0]})"]),
                matched=prefix,
            )
        winner = cfg.service_center.area_code_tie_breaks.get(prefix)
        listing = ", ".join(owners)
        if winner is not None and winner != ASK:
            return OriginDecision(
                winner,
                Rule.TIE_BREAK,
                "; ".join([*notes, f"Vorwahl {prefix} ({listing}) per Festlegung: {winner}"]),
                matched=prefix,
                candidates=owners,
            )
        return _undecided(
            cfg, [*notes, f"Vorwahl {prefix} gehört mehreren Kunden ({listing})"], owners, prefix
        )
    return _undecided(cfg, [*notes, f"Vorwahl von {_short(caller)} gehört keinem Kunden"])


def _undecided(
    cfg: ServiceCenterConfig,
    notes: list[str],
    candidates: tuple[str, ...] = (),
    matched: str | None = None,
) -> OriginDecision:
    unknown = cfg.service_center.unknown_caller
    if unknown.town_menu is not None:
        return OriginDecision(
            None,
            Rule.TOWN_MENU,
            "; ".join([*notes, "Anrufer wird nach der Stadt gefragt"]),
            needs_town_menu=True,
            matched=matched,
            candidates=candidates,
        )
    return OriginDecision(
        unknown.default_client,
        Rule.DEFAULT_CLIENT,
        "; ".join([*notes, f"Standardkunde {unknown.default_client}"]),
        matched=matched,
        candidates=candidates,
    )


def dialled_kind(
    cfg: ServiceCenterConfig, decision: OriginDecision, dialled: str | None
) -> DialledKind | None:
    """What the caller dialled, for the queue's priorities: the town's switchboard (also when
    diverted from it) or a service number such as 115; None for anything else."""
    if decision.rule in (Rule.SWITCHBOARD, Rule.DIVERSION):
        return "switchboard"
    number = called_number(dialled, cfg.routed_numbers)
    if number is not None and number in cfg.service_center.service_numbers:
        return "service_number"
    return None
