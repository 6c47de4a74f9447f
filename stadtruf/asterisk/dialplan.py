"""Render the dialplan that maps 115 and the switchboard numbers into the Stasis app.

Pure: numbers in, dialplan text out. Carriers deliver the called number in several forms, so
each national number is listed in each of them; anything not listed is refused by
`dialplan/stadtruf.conf` without answering.
"""

from __future__ import annotations

from collections.abc import Iterable

# The nationwide government number; carriers hand it over as dialled.
GOVERNMENT_NUMBER = "115"


def called_number_forms(national: str) -> list[str]:
    """The forms a carrier may use for a national number such as 020417000."""
    if not (national.startswith("0") and not national.startswith("00") and national.isdigit()):
        raise ValueError(f"not a national number (0 + area code + subscriber): {national!r}")
    subscriber = national[1:]
    return [national, f"+49{subscriber}", f"0049{subscriber}", f"49{subscriber}"]


def render_numbers_context(switchboard_numbers: Iterable[str]) -> str:
    """The `[stadtruf-numbers]` context included by `[from-carrier]`."""
    lines = [
        "; Rendered by stadtruf from config/ when the instance starts. Do not edit.",
        "[stadtruf-numbers]",
        f"exten => {GOVERNMENT_NUMBER},1,Goto(stadtruf-entry,${{EXTEN}},1)",
    ]
    seen: set[str] = {GOVERNMENT_NUMBER}
    for national in sorted(set(switchboard_numbers)):
        for form in called_number_forms(national):
            if form not in seen:
                seen.add(form)
                lines.append(f"exten => {form},1,Goto(stadtruf-entry,${{EXTEN}},1)")
    return "\n".join(lines) + "\n"
