"""Number normalization: every form a SIP header may carry, table-tested."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stadtruf.core.numbers import normalize, to_e164


@pytest.mark.parametrize(
    ("raw", "national"),
    [
        ("02041700", "02041700"),
        ("02041 70-0", "02041700"),
        ("(02041) 70/0", "02041700"),
        ("+492041700", "02041700"),
        ("+49 2041 70-0", "02041700"),
        ("+49 (0) 2041 70-0", "02041700"),
        ("00492041700", "02041700"),
        ("tel:+49-281-207-0", "02812070"),
        ("sip:+4928412020@carrier.example;user=phone", "028412020"),
        ('"Max Mustermann" <sip:0341 1230@10.0.0.1>', "03411230"),
        ("sips:02064660@pbx.dinslaken.de", "02064660"),
        ("115", "115"),
        ("sip:115@sbc", "115"),
        ("+31201234567", "0031201234567"),  # foreign numbers keep their country code
        ("0031201234567", "0031201234567"),
        ("492041700", "492041700"),  # bare 49… is not read as a country code (see module)
        (None, None),
        ("", None),
        ("   ", None),
        ("anonymous", None),
        ("Anonymous", None),
        ("sip:anonymous@anonymous.invalid", None),
        ("unknown", None),
        ("restricted", None),
        ("sip:alice@example.org", None),
        ("+49", None),
        ("+490203", None),  # +49 followed by a trunk zero is not a number
        ("02041;70", "02041"),  # parameters cut off
        ("12ab34", None),
    ],
)
def test_normalize(raw: str | None, national: str | None) -> None:
    assert normalize(raw) == national


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("02041 70-0", "+492041700"),
        ("0049 341 1230", "+493411230"),
        ("+492041700", "+492041700"),
        ("0031201234567", "+31201234567"),
        ("115", None),
        ("anonymous", None),
        (None, None),
    ],
)
def test_to_e164(raw: str | None, e164: str | None) -> None:
    assert to_e164(raw) == e164


@given(st.text())
def test_normalize_never_crashes_and_gives_digits(raw: str) -> None:
    result = normalize(raw)
    assert result is None or (result.isdigit() and result.isascii())


@given(st.from_regex(r"0[1-9][0-9]{5,10}", fullmatch=True))
def test_national_and_e164_round_trip(number: str) -> None:
    e164 = to_e164(number)
    assert e164 is not None
    assert normalize(e164) == number
    assert normalize("00" + e164[1:]) == number


@pytest.mark.parametrize("raw", ["٠٢٠٣", "0203²", "+49２０３"])
def test_non_ascii_digits_are_garbage(raw: str) -> None:
    assert normalize(raw) is None
