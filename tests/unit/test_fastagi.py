"""The FastAGI commands' answers (stadtruf.core.fastagi): the same rules as the Stasis app."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stadtruf.config import load_site
from stadtruf.core import menu
from stadtruf.core.annotation import annotate
from stadtruf.core.fastagi import STATUS, decide, parse_environment, topic_route
from stadtruf.core.hours import BERLIN
from stadtruf.core.origin import resolve
from stadtruf.paths import sample_config_dir
from tests.support.agi_client import environment

CONFIG = load_site(sample_config_dir()).config
MONDAY_9 = datetime(2026, 11, 23, 9, 0, tzinfo=BERLIN)


def answer(*lines: bytes, channel_client: str | None = None) -> dict[str, str]:
    return dict(decide(CONFIG, parse_environment(lines), MONDAY_9, channel_client).variables)


@pytest.mark.parametrize(
    ("dialled", "caller", "diversion"),
    [
        ("02041700", "0203555333", None),
        ("+492041700", None, None),
        ("115", "02064123", None),
        ("115", "0281123", "02064660"),
        ("115", None, None),
        ("115", "0049301234", None),
    ],
)
def test_origin_is_the_apps_rule(dialled: str, caller: str | None, diversion: str | None) -> None:
    env = {"agi_extension": dialled, "agi_callerid": caller or "unknown"}
    env["agi_rdnis"] = diversion or "unknown"
    variables = answer(*environment("origin", **env))
    decision = resolve(CONFIG, dialled=dialled, caller=caller, diversion=diversion)
    client = decision.client_id or CONFIG.service_center.unknown_caller.default_client
    assert variables["STADTRUF_CLIENT"] == client
    assert variables["STADTRUF_ORIGIN_RULE"] == decision.rule
    assert variables["STADTRUF_ORIGIN_REASON"] == decision.reason
    assert client is not None
    marks = annotate(CONFIG.clients[client])
    assert marks.assignments() == tuple((k, variables[k]) for k, _ in marks.assignments())
    assert variables[STATUS] == "OK"


def test_arguments_beat_the_environment() -> None:
    lines = environment("origin", "dialled=02064660", "caller=02041123", agi_extension="02041700")
    assert answer(*lines)["STADTRUF_CLIENT"] == "dinslaken"


def test_the_subroutines_extension_s_is_no_dialled_number() -> None:
    variables = answer(*environment("origin", agi_extension="s", agi_dnid="02041700"))
    assert variables["STADTRUF_CLIENT"] == "bottrop"  # agi_dnid, since `s` is no number


@pytest.mark.parametrize(
    ("client", "topic", "route"),
    [
        ("bottrop", "kfz", menu.QueueRoute("kfz")),
        ("bottrop", "abfall", menu.TransferRoute("0204170350", "abfall")),
        ("bottrop", "fuehrerschein", menu.QueueRoute("fuehrerschein")),
        ("bottrop", "schwerbehinderung", menu.QueueRoute("schwerbehinderung")),  # no key: queue
        ("bottrop", None, menu.QueueRoute("vermittlung")),  # the main menu's default
    ],
)
def test_topic_route_follows_the_clients_menu(
    client: str, topic: str | None, route: menu.Route
) -> None:
    found = topic_route(CONFIG.clients[client], topic)
    assert found is not None
    assert (type(found), getattr(found, "topic", None), getattr(found, "target", None)) == (
        type(route),
        getattr(route, "topic", None),
        getattr(route, "target", None),
    )


def test_route_without_a_client_takes_the_default_client() -> None:
    variables = answer(*environment("route", "kfz"))
    assert variables["STADTRUF_CLIENT"] == "duisburg"
    assert variables[STATUS] == "ERROR"


def test_route_with_the_client_off_the_channel() -> None:
    variables = answer(*environment("route", "kfz"), channel_client="bottrop")
    assert (variables["STADTRUF_ROUTE"], variables[STATUS]) == ("queue:kfz", "OK")


def test_an_empty_argument_is_ignored() -> None:
    # AGI(agi://…/origin,,) from a subroutine with unused ${ARGn}
    variables = answer(*environment("origin", "", "", agi_extension="02041700"))
    assert variables[STATUS] == "OK"


lines_strategy = st.lists(
    st.one_of(
        st.binary(max_size=80),
        st.sampled_from(environment("origin") + environment("route", "kfz")),
        st.builds(
            lambda k, v: k + b": " + v,
            st.sampled_from([b"agi_network_script", b"agi_arg_1", b"agi_arg_2", b"agi_callerid"]),
            st.binary(max_size=30),
        ),
    ),
    max_size=30,
)


@settings(max_examples=300, deadline=None)
@given(lines_strategy, st.one_of(st.none(), st.text(max_size=10)))
def test_any_input_gets_an_answer_with_a_status(
    lines: list[bytes], channel_client: str | None
) -> None:
    result = decide(CONFIG, parse_environment(lines), MONDAY_9, channel_client)
    names = [name for name, _ in result.variables]
    assert names[-1] == STATUS
    assert dict(result.variables)[STATUS] in ("OK", "ERROR")
    assert all("\n" not in value and "\r" not in value for _, value in result.variables)
