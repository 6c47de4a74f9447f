"""The numbers dialplan rendered from the config."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stadtruf.asterisk.dialplan import called_number_forms, render_numbers_context
from stadtruf.config import load
from stadtruf.core.numbers import normalize
from stadtruf.paths import sample_config_dir


@pytest.mark.parametrize(
    ("national", "forms"),
    [
        ("02041700", ["02041700", "+492041700", "00492041700", "492041700"]),
        ("020394000", ["020394000", "+4920394000", "004920394000", "4920394000"]),
    ],
)
def test_forms_of_a_national_number(national: str, forms: list[str]) -> None:
    assert called_number_forms(national) == forms


@pytest.mark.parametrize("bad", ["115", "0049123", "+492041", "02041 700", ""])
def test_only_national_numbers_are_accepted(bad: str) -> None:
    with pytest.raises(ValueError, match="national"):
        called_number_forms(bad)


@given(st.text(alphabet="0123456789", min_size=4, max_size=12).map(lambda d: "0" + d.lstrip("0")))
def test_every_form_normalizes_back(national: str) -> None:
    if len(national) < 4:
        return
    for form in called_number_forms(national):
        if not form.startswith("49"):  # a bare 49… is a local number to normalize()
            assert normalize(form) == national


def test_sample_config_numbers_reach_the_app() -> None:
    config = load(sample_config_dir())
    text = render_numbers_context(config.switchboards.keys())
    lines = text.splitlines()
    assert "[stadtruf-numbers]" in lines
    assert "exten => 115,1,Goto(stadtruf-entry,${EXTEN},1)" in lines
    for number in config.switchboards:
        assert f"exten => {number},1,Goto(stadtruf-entry,${{EXTEN}},1)" in lines
    exten_lines = [line for line in lines if line.startswith("exten")]
    assert len(exten_lines) == len(set(exten_lines)), "an extension is listed twice"
