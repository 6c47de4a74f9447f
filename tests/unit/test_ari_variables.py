"""Several channel variables in one request: the ARRAY() assignment (ari_app.variables).

The escaping was checked against Asterisk 22 (benchmarks.flow's development): values with
commas, quotes, brackets and backslashes came back as set, `__` variables inherited."""

from __future__ import annotations

from ari_app.variables import array_assignment, array_value


def test_a_run_of_variables_is_one_assignment_in_order() -> None:
    pairs = [("STADTRUF_CLIENT", "bottrop"), ("CALLERID(name)", "[BOT] Kfz · Erika")]
    assert array_assignment(pairs) == (
        "ARRAY(STADTRUF_CLIENT,CALLERID(name))",
        '"bottrop","[BOT] Kfz · Erika"',
    )


def test_commas_quotes_and_backslashes_stay_in_the_value() -> None:
    assert array_value('Bottrop, "Kirchhellen"') == '"Bottrop, \\"Kirchhellen\\""'
    assert array_value("a\\b") == '"a\\\\b"'


def test_one_variable_or_a_name_with_a_comma_goes_alone() -> None:
    assert array_assignment([("STADTRUF_ROUTE", "queue:kfz")]) is None
    assert array_assignment([("A", "1"), ("PJSIP_HEADER(add,X-Topic)", "kfz")]) is None
    assert array_assignment([]) is None
