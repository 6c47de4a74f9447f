"""Mark a call with its client and topic, so the agent sees town and concern at once.

Pure: computes the values, the ARI side sets them. Three places:

- channel variables (``STADTRUF_CLIENT``, ``STADTRUF_TOPIC``, …) for the dialplan, the queue
  and the reports;
- the caller-ID name, prefixed: ``[BOT] Kfz · Max Mustermann`` (the display on the agent's
  phone has no other channel);
- SIP headers for any outgoing leg (``X-Origin-City``, ``X-Topic``), for the office or company
  the call is transferred to. Header values are ASCII (umlauts transliterated), because not
  every PBX on the other end decodes UTF-8; and every value is stripped of control characters,
  so a caller-ID name cannot inject a header line.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from stadtruf.config import Client, Topic

CALLER_NAME_MAX = 40  # most desk phones show fewer; longer names only get cut by the phone
HEADER_VALUE_MAX = 64
_SEPARATOR = " · "
_OLD_PREFIX = re.compile(r"^\[[A-Z0-9]{2,6}\](?:[^·]*·\s*|[^·]*$)")  # our mark from an earlier leg
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")
_GERMAN = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


@dataclass(frozen=True)
class Annotation:
    channel_variables: dict[str, str]
    caller_id_name: str
    sip_headers: dict[str, str]

    def assignments(self) -> tuple[tuple[str, str], ...]:
        """Every channel variable to set, in order: ours, the caller-ID name, and the header
        variables (`header_variable`) that outgoing legs inherit."""
        return (
            *self.channel_variables.items(),
            ("CALLERID(name)", self.caller_id_name),
            *((header_variable(h), v) for h, v in self.sip_headers.items()),
        )


def annotate(
    client: Client,
    topic: Topic | None = None,
    caller_id_name: str | None = None,
    *,
    topic_id: str | None = None,
    language: str | None = None,
) -> Annotation:
    """Channel variables, caller-ID name and SIP headers for a call of `client` about `topic`.

    `topic_id` is the key under `topics` (the `Topic` model does not carry it); `language` is
    shown only when it differs from the client's own, as a hint that the agent needs it.
    """
    original = _clean(caller_id_name or "")
    original = _OLD_PREFIX.sub("", original)  # annotating twice must not stack prefixes

    label = f"[{client.tag}]"
    if topic is not None:
        label += f" {_clean(topic.name)}"
    if language and language != client.language:
        label += f" ({language.upper()})"
    name = f"{label}{_SEPARATOR}{original}" if original else label

    variables = {
        "STADTRUF_CLIENT": client.id,
        "STADTRUF_CLIENT_NAME": _clean(client.name),
        "STADTRUF_CLIENT_TAG": client.tag,
    }
    headers = {"X-Origin-City": ascii_header_value(client.name), "X-Origin-Client": client.id}
    if topic is not None:
        variables["STADTRUF_TOPIC_NAME"] = _clean(topic.name)
        headers["X-Topic"] = ascii_header_value(topic_id or topic.name)
        headers["X-Topic-Name"] = ascii_header_value(topic.name)
    if topic_id is not None:
        variables["STADTRUF_TOPIC"] = topic_id
    if language:
        variables["STADTRUF_LANGUAGE"] = language
    return Annotation(variables, name[:CALLER_NAME_MAX].rstrip(), headers)


def header_variable(header: str) -> str:
    """The inherited channel variable that carries `header` to outgoing legs, where the
    transfer's pre-dial handler (dialplan/stadtruf.conf) turns it back into the SIP header:
    `X-Origin-City` → `__STADTRUF_HEADER_X_ORIGIN_CITY`."""
    return "__STADTRUF_HEADER_" + header.upper().replace("-", "_")


def ascii_header_value(value: str) -> str:
    """`Straßenreinigung Mülheim` → `Strassenreinigung Muelheim`: printable ASCII, one line."""
    text = _clean(value).translate(_GERMAN)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = "".join(c for c in text if c.isprintable())
    return " ".join(text.split())[:HEADER_VALUE_MAX]


def _clean(value: str) -> str:
    """No control characters (CR/LF would start a new SIP header line), single spaces."""
    return " ".join(_CONTROL.sub(" ", value).split())
