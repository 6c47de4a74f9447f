"""Callers' personal data: which number is withheld, and what a log line may carry of a number.

Decisions, and why:

- A caller who withholds the number (CLIR) has asked that nobody sees it. The carrier still
  delivers it (P-Asserted-Identity with ``Privacy: id``) and Asterisk reports it in the
  channel's caller ID with the presentation ``prohib…``. We may use it to find the caller's
  town (the citizen reaches the right office), but it never reaches the agent, a log line, the
  call record or a callback request. `is_withheld` reads Asterisk's ``CALLERID(pres)``.
- A log line carries a caller's number only shortened to its area code (``0203…``, the same
  rule as the call record's ``area_code``), unless the admin turns on full numbers for
  debugging (``privacy.log_numbers: full``). `redact_numbers` does this for a whole log event,
  by key: the keys below are the ones that carry a caller's number in our log events. Keys are
  used, not a pattern over all values, because channel ids (``1795276604.0``) and timestamps
  are digit runs too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, Literal

from stadtruf.core.record import SHORTENED, stored_caller

LogNumbers = Literal["area_code", "full"]

# The channel variable [stadtruf-entry] sets to CALLERID(pres) before Stasis() (ari.conf
# channelvars brings it along in the channel JSON, which has no presentation of its own).
CALLER_PRESENTATION_VARIABLE = "STADTRUF_CALLER_PRES"

# Log-event keys whose value is a caller's (or a forwarding party's) number.
NUMBER_KEYS = frozenset(
    {"caller", "caller_number", "number", "diversion", "callback_number", "caller_id"}
)

# Asterisk's CALLERID(pres) values that withhold the number (prohib, prohib_passed_screen, …)
# and "unavailable" (the network has no number to show: nothing to show either).
_WITHHELD_PRESENTATIONS = ("prohib", "unavailable")


def is_withheld(presentation: str | None) -> bool:
    """Whether Asterisk's ``CALLERID(pres)`` value withholds the caller's number.

    >>> is_withheld("prohib_passed_screen"), is_withheld("allowed_not_screened"), is_withheld("")
    (True, False, False)
    """
    if not presentation:
        return False
    return presentation.strip().lower().startswith(_WITHHELD_PRESENTATIONS)


def shortened(value: object, area_codes: Iterable[str] = ()) -> object:
    """A number as a log line may show it: its area code and ``…``; anything that is not a
    number (None, a flag) as it is; a string that is no usable number as ``…`` (it might still
    be one, written oddly).

    >>> shortened("+49 203 12345", ["0203"]), shortened(None), shortened("anonymous")
    ('0203…', None, '…')
    """
    if not isinstance(value, str) or value == "":
        return value
    return stored_caller(value, "area_code", area_codes) or SHORTENED


def redact_numbers(
    event: MutableMapping[str, Any], mode: LogNumbers, area_codes: Iterable[str] = ()
) -> MutableMapping[str, Any]:
    """The log event with every caller's number (see `NUMBER_KEYS`) shortened, unless `mode`
    is ``full``. Nested mappings one level deep (a record, a request) are shortened too."""
    if mode == "full":
        return event
    codes = tuple(area_codes)
    for key, value in list(event.items()):
        if key in NUMBER_KEYS:
            event[key] = shortened(value, codes)
        elif isinstance(value, Mapping):
            event[key] = {
                k: shortened(v, codes) if k in NUMBER_KEYS else v for k, v in value.items()
            }
    return event


__all__ = [
    "CALLER_PRESENTATION_VARIABLE",
    "NUMBER_KEYS",
    "LogNumbers",
    "is_withheld",
    "redact_numbers",
    "shortened",
]
