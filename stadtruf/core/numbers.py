"""Phone numbers as they arrive from SIP, reduced to one comparable form.

Every number we compare (dialled number, caller, Diversion, configured switchboard numbers and
area codes) goes through `normalize` first, so the rest of the code only ever sees *national
form*: digits, German numbers with their leading ``0`` (``02041700``), foreign numbers with
``00`` and their country code (``0031201234567``), short numbers such as ``115`` as they are.

Decisions, and why:

- ``+49…`` and ``0049…`` become ``0…``; the trunk prefix written as ``+49 (0) 203…`` is dropped.
- A bare ``49…`` (no ``+``, no ``00``) is *not* read as a country code by `normalize`: a caller's
  local subscriber number may start with 49, and guessing wrong sends the caller to the wrong
  town. A *dialled* number is different: it is only ever matched against our own configured
  numbers, and carriers do send ``49…`` for them. `carrier_forms` is the one rule for the forms
  a carrier may send for one of our numbers (the dialplan accepts exactly these), and
  `called_number` reads a dialled number back through the same rule.
- ``tel:``/``sip:``/``sips:`` URIs and ``"Name" <sip:…>`` forms are reduced to their user part;
  visual separators (space, ``-``, ``/``, ``.``, parentheses) are ignored.
- Withheld or unusable callers (``anonymous``, ``unknown``, ``restricted``, empty, letters)
  give ``None``: "no number" is one case for the callers of this module, not five.
"""

from __future__ import annotations

import re
from collections.abc import Collection

COUNTRY_CODE = "49"

# Values that SIP stacks and carriers put in From/P-Asserted-Identity for a withheld number.
_WITHHELD = frozenset(
    {"anonymous", "unknown", "restricted", "withheld", "private", "unavailable", "anonym"}
)
_URI = re.compile(r"^(?:sips?|tel):", re.IGNORECASE)
_SEPARATORS = re.compile(r"[\s\-/.()\u00a0]")
_TRUNK_ZERO = re.compile(r"^(\+|00)49\s*\(0\)")


def _user_part(raw: str) -> str:
    """The dialable part of a header value: `"Max" <sip:+49203@host;user=phone>` → `+49203`."""
    text = raw.strip()
    if "<" in text and ">" in text:
        text = text[text.index("<") + 1 : text.index(">")]
    text = _URI.sub("", text.strip())
    # URI parameters and host: `+49203;isub=1@host;user=phone` → `+49203`.
    for stop in ("@", ";", "?"):
        text = text.split(stop, 1)[0]
    return text.strip()


def normalize(raw: str | None) -> str | None:
    """National form of a number (see module docstring), or None when there is no usable number.

    >>> normalize("+49 2041 70-0"), normalize("tel:0049-281-2070"), normalize("115")
    ('02041700', '02812070', '115')
    """
    if raw is None:
        return None
    user = _user_part(raw)
    if user.lower() in _WITHHELD:
        return None
    user = _TRUNK_ZERO.sub(r"\g<1>49", user)
    user = _SEPARATORS.sub("", user)
    if user.startswith("+"):
        digits = user[1:]
        if not _digits(digits):
            return None
        return _from_international(digits)
    if not _digits(user):
        return None
    if user.startswith("00"):
        return _from_international(user[2:])
    return user


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()  # str.isdigit() alone accepts "²" and "٣"


def _from_international(digits: str) -> str | None:
    """`49203…` → `0203…`; other countries keep their `00` prefix so they never match ours."""
    if len(digits) < 3:
        return None
    if digits.startswith(COUNTRY_CODE):
        national = digits[len(COUNTRY_CODE) :]
        return "0" + national if national and national[0] != "0" else None
    return "00" + digits


def to_e164(raw: str | None) -> str | None:
    """E.164 form (``+492041700``) of a number, or None for short numbers and withheld callers."""
    number = normalize(raw)
    if number is None:
        return None
    if number.startswith("00"):
        return "+" + number[2:]
    if number.startswith("0") and len(number) > 3:
        return "+" + COUNTRY_CODE + number[1:]
    return None


def carrier_forms(number: str) -> tuple[str, ...]:
    """Every form in which a carrier may send `number` (national form) as the called number.

    >>> carrier_forms("02041700"), carrier_forms("115")
    (('02041700', '+492041700', '00492041700', '492041700'), ('115',))
    """
    if not is_national(number):
        return (number,)  # 115 and other short numbers arrive as dialled
    subscriber = number[1:]
    return (
        number,
        f"+{COUNTRY_CODE}{subscriber}",
        f"00{COUNTRY_CODE}{subscriber}",
        COUNTRY_CODE + subscriber,
    )


def called_number(raw: str | None, ours: Collection[str]) -> str | None:
    """The number of `ours` (national form) that the dialled number `raw` is a carrier form of;
    otherwise the plain `normalize`d number (None when there is none).

    A bare ``49…`` is read as a country code only here, and only when that names one of ours.
    """
    number = normalize(raw)
    if number is None or number in ours:
        return number
    if number.startswith(COUNTRY_CODE) and len(number) > len(COUNTRY_CODE):
        national = "0" + number[len(COUNTRY_CODE) :]
        if is_national(national) and national in ours:
            return national
    return number


# Prefixes whose calls cost the caller (the service center, when it dials out) far more than a
# national call: premium rate (0900), mass calls/televoting (0137, 0138), service numbers (0180),
# former premium (0190), "innovative services" (012).
PREMIUM_PREFIXES = ("0900", "0137", "0138", "0180", "0190", "012")


def is_premium(number: str) -> bool:
    """True for a normalized number with one of the `PREMIUM_PREFIXES`."""
    return number.startswith(PREMIUM_PREFIXES)


def is_national(number: str) -> bool:
    """True for a normalized German number with area code (``0`` but not ``00``)."""
    return number.startswith("0") and not number.startswith("00")
