"""Several channel variables in one ARI request.

Each `POST /channels/{id}/variable` is an HTTP round trip through Asterisk's HTTP server and
the channel's control thread, and a call's annotation is a dozen variables (found by
benchmarks.flow: they were half of the app's requests). Asterisk's ``ARRAY(a,b,…)`` function
(func_strings) sets them all, in order, from one value list: ``"v1","v2",…``.
"""

from __future__ import annotations

from collections.abc import Sequence


def array_value(value: str) -> str:
    """One value of the list: in double quotes, `\\` and `"` escaped (Asterisk's argument
    parser drops the quotes and the escapes), so commas and brackets stay in the value."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def array_assignment(pairs: Sequence[tuple[str, str]]) -> tuple[str, str] | None:
    """The one (name, value) that sets all `pairs`; None when they must go one by one: a
    single pair, or a name with a comma (``PJSIP_HEADER(add,X)``: ARRAY splits names on
    commas)."""
    if len(pairs) < 2 or any("," in name for name, _ in pairs):
        return None
    names = ",".join(name for name, _ in pairs)
    return f"ARRAY({names})", ",".join(array_value(value) for _, value in pairs)
