"""Origin resolution, table-tested against a small config written for the purpose."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from stadtruf.asterisk.dialplan import render_numbers_context
from stadtruf.config import ServiceCenterConfig, load
from stadtruf.config.model import FrozenMap
from stadtruf.core.origin import Rule, dialled_kind, resolve
from stadtruf.paths import sample_config_dir

CENTER = """
name: Test
topics: {vermittlung: {name: Vermittlung}}
menu_defaults: {default: {queue: vermittlung}}
area_code_tie_breaks:
  "02841": ask        # Moers and the district both claim it: ask the caller
  "0281": kreis       # Wesel: the district wins over the town
unknown_caller:
  default_client: duisburg
  town_menu:
    menus:
      main:
        prompt: "Welche Stadt?"
        options: {"1": {client: duisburg}, "2": {client: bottrop}}
        default: {client: duisburg}
"""
MENU = "menu: {menus: {main: {prompt: Hallo, options: {'0': {queue: vermittlung}}}}}"
CLIENTS = {
    "duisburg": 'switchboard_numbers: ["0203 94000"]\narea_codes: ["0203"]',
    "bottrop": 'switchboard_numbers: ["02041 70-0"]\narea_codes: ["02041", "02045"]',
    # A made-up sub-range inside Bottrop's area code, to show that the longest prefix wins.
    "kirchhellen": 'area_codes: ["0204590"]',
    "dinslaken": 'switchboard_numbers: ["02064 66-0"]\narea_codes: ["02064"]',
    "moers": 'area_codes: ["02841"]',
    "wesel": 'area_codes: ["0281"]',
    "kreis": 'switchboard_numbers: ["0281 207-0"]\narea_codes: ["0281", "02841"]',
}


def _write(directory: Path, center: str = CENTER) -> None:
    (directory / "service-center.yaml").write_text(center, encoding="utf-8")
    for i, (client_id, extra) in enumerate(CLIENTS.items()):
        text = (
            f"id: {client_id}\nname: {client_id.title()}\ntag: T{i}\nstate: NW\n{extra}\n{MENU}\n"
        )
        (directory / f"{client_id}.yaml").write_text(text, encoding="utf-8")


@pytest.fixture(scope="module")
def cfg(tmp_path_factory: pytest.TempPathFactory) -> ServiceCenterConfig:
    directory = tmp_path_factory.mktemp("origin")
    _write(directory)
    return load(directory)


@pytest.mark.parametrize(
    ("dialled", "caller", "diversion", "client", "rule"),
    [
        # 115 by the caller's area code, in every number form
        ("115", "02041 123456", None, "bottrop", Rule.AREA_CODE),
        ("115", "+492041123456", None, "bottrop", Rule.AREA_CODE),
        ("115", "00492041123456", None, "bottrop", Rule.AREA_CODE),
        ("sip:115@sbc", "sip:+49203555123@carrier;user=phone", None, "duisburg", Rule.AREA_CODE),
        # Kirchhellen's own area code belongs to Bottrop…
        ("115", "02045 1234", None, "bottrop", Rule.AREA_CODE),
        # …but the longest prefix wins over it
        ("115", "02045 901234", None, "kirchhellen", Rule.AREA_CODE),
        # withheld, unknown, foreign, ambiguous → ask
        ("115", None, None, None, Rule.TOWN_MENU),
        ("115", "anonymous", None, None, Rule.TOWN_MENU),
        ("115", "0711 123456", None, None, Rule.TOWN_MENU),
        ("115", "+31 20 1234567", None, None, Rule.TOWN_MENU),
        ("115", "123456", None, None, Rule.TOWN_MENU),
        ("115", "02841 12345", None, None, Rule.TOWN_MENU),
        # tie-break names the winner
        ("115", "0281 12345", None, "kreis", Rule.TIE_BREAK),
        # the dialled switchboard number beats the area code
        ("02041 70-0", "0203 555123", None, "bottrop", Rule.SWITCHBOARD),
        ("+4928120 70", "02841 12345", None, "kreis", Rule.SWITCHBOARD),
        # the bare country-code form the dialplan accepts (defect 1: went to Duisburg)
        ("492041700", "0203555333", None, "bottrop", Rule.SWITCHBOARD),
        ("0049 2041 700", "0203555333", None, "bottrop", Rule.SWITCHBOARD),
        # …but a caller's bare 49… is not reread: it may be a local number
        ("115", "492041123456", None, None, Rule.TOWN_MENU),
        # …nor is a bare 49… dialled number that is not one of ours
        ("4920417001", "0203555333", None, "duisburg", Rule.AREA_CODE),
        # Diversion beats the area code and the dialled number
        ("0203 94000", "0203 555123", "sip:02064660@pbx.dinslaken.de", "dinslaken", Rule.DIVERSION),
        ("115", "0203 555123", "+49 2041 70-0", "bottrop", Rule.DIVERSION),
        # an unknown Diversion is noted and ignored
        ("0203 94000", "0203 555", "0999 1", "duisburg", Rule.SWITCHBOARD),
        # a dialled number nobody owns falls back to the caller's area code
        ("0203 99999", "02064 1234", None, "dinslaken", Rule.AREA_CODE),
        (None, "02064 1234", None, "dinslaken", Rule.AREA_CODE),
    ],
)
def test_resolve(
    cfg: ServiceCenterConfig,
    dialled: str | None,
    caller: str | None,
    diversion: str | None,
    client: str | None,
    rule: Rule,
) -> None:
    decision = resolve(cfg, dialled=dialled, caller=caller, diversion=diversion)
    assert (decision.client_id, decision.rule) == (client, rule), decision.reason
    assert decision.needs_town_menu == (rule is Rule.TOWN_MENU)
    assert decision.reason


def test_reason_names_the_match(cfg: ServiceCenterConfig) -> None:
    decision = resolve(cfg, dialled="115", caller="+49 2045 901234", diversion=None)
    assert decision.matched == "0204590"
    assert "0204590" in decision.reason and "115" in decision.reason


def test_ambiguous_keeps_candidates(cfg: ServiceCenterConfig) -> None:
    decision = resolve(cfg, dialled="115", caller="02841 1", diversion=None)
    assert decision.candidates == ("kreis", "moers")
    assert "mehreren" in decision.reason


def test_unknown_diversion_is_in_the_reason(cfg: ServiceCenterConfig) -> None:
    decision = resolve(cfg, dialled="115", caller="0203 1", diversion="0999 123456")
    # Shortened like any number in a log line: the reason is logged and a channel variable.
    assert "Umleitung von 099…" in decision.reason and "123456" not in decision.reason


def test_default_client_without_town_menu(tmp_path: Path) -> None:
    center = CENTER.split("unknown_caller:")[0].replace('"02841": ask', '"02841": moers')
    _write(tmp_path, center + "unknown_caller: {default_client: duisburg}\n")
    decision = resolve(load(tmp_path), dialled="115", caller=None, diversion=None)
    assert (decision.client_id, decision.rule) == ("duisburg", Rule.DEFAULT_CLIENT)
    assert not decision.needs_town_menu


# --- Whatever the dialplan accepts, origin resolution understands ---------------------------


def _rendered_forms(number: str) -> list[str]:
    """The extensions the rendered dialplan lists for one routed number."""
    text = render_numbers_context([number])
    return [line.split(" => ", 1)[1].split(",", 1)[0] for line in text.splitlines()[1:]]


@pytest.fixture(scope="module")
def sample() -> ServiceCenterConfig:
    return load(sample_config_dir())


def test_every_rendered_form_of_the_sample_resolves_like_its_national_form(
    sample: ServiceCenterConfig,
) -> None:
    for number in sample.routed_numbers:
        for caller in ("0203555333", "02041555", None, "+31201234567"):
            expected = resolve(sample, dialled=number, caller=caller, diversion=None)
            for form in _rendered_forms(number):
                decision = resolve(sample, dialled=form, caller=caller, diversion=None)
                assert (decision.client_id, decision.rule, decision.matched) == (
                    expected.client_id,
                    expected.rule,
                    expected.matched,
                ), (form, caller)
                kind = dialled_kind(sample, decision, form)
                assert kind == dialled_kind(sample, expected, number)


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=200)
@given(
    number=st.from_regex(r"0[1-9][0-9]{5,10}", fullmatch=True),
    service=st.booleans(),
    caller=st.one_of(st.none(), st.from_regex(r"(\+49|0049|0|49)[1-9][0-9]{3,9}", fullmatch=True)),
    data=st.data(),
)
def test_every_rendered_form_of_a_configured_number_resolves_like_its_national_form(
    sample: ServiceCenterConfig, number: str, service: bool, caller: str | None, data: st.DataObject
) -> None:
    taken = {form for n in sample.routed_numbers for form in _rendered_forms(n)}
    assume(not taken & set(_rendered_forms(number)))
    if service:
        center = sample.service_center.model_copy(
            update={"service_numbers": (*sample.service_center.service_numbers, number)}
        )
        cfg = dataclasses.replace(sample, service_center=center)
    else:
        client = data.draw(st.sampled_from(sorted(sample.clients)))
        cfg = dataclasses.replace(
            sample, switchboards=FrozenMap({**sample.switchboards, number: client})
        )
    expected = resolve(cfg, dialled=number, caller=caller, diversion=None)
    for form in _rendered_forms(number):
        decision = resolve(cfg, dialled=form, caller=caller, diversion=None)
        assert (decision.client_id, decision.rule) == (expected.client_id, expected.rule), form
        assert dialled_kind(cfg, decision, form) == dialled_kind(cfg, expected, number)
