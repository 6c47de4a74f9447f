"""Number normalization: every form a SIP header may carry, table-tested."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stadtruf.core.numbers import called_number, carrier_forms, is_premium, normalize, to_e164


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


OURS = frozenset({"115", "02041700", "08001150000", "4912345"})


@pytest.mark.parametrize(
    ("raw", "number"),
    [
        ("02041700", "02041700"),
        ("+492041700", "02041700"),
        ("00492041700", "02041700"),
        # bare 49…: the carrier's form of one of ours (defect 1: this went to the caller's town)
        ("492041700", "02041700"),
        ("498001150000", "08001150000"),
        ("115", "115"),
        # a number of ours that itself starts with 49 stays itself
        ("4912345", "4912345"),
        # bare 49… that is not one of ours: left as it came (a local number, maybe)
        ("4920417001", "4920417001"),
        ("49", "49"),
        ("0203555", "0203555"),
        ("anonymous", None),
        (None, None),
    ],
)
def test_called_number(raw: str | None, number: str | None) -> None:
    assert called_number(raw, OURS) == number


@given(st.from_regex(r"0[1-9][0-9]{4,10}", fullmatch=True))
def test_every_carrier_form_is_read_back_as_the_number(national: str) -> None:
    forms = carrier_forms(national)
    assert forms[0] == national and len(set(forms)) == 4
    for form in forms:
        assert called_number(form, {national}) == national


@pytest.mark.parametrize(
    ("number", "premium"),
    [
        ("09001234567", True),
        ("01371234567", True),
        ("01381234567", True),
        ("01801234567", True),
        ("01901234567", True),
        ("0123456789", True),
        ("08001150000", False),
        ("0204170350", False),
        ("01701234567", False),  # mobile
        ("0044123456789", False),  # international: not premium (the allow-list handles it)
    ],
)
def test_is_premium(number: str, premium: bool) -> None:
    assert is_premium(number) is premium
