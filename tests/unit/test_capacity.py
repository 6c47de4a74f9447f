"""The capacity setting: what an RTP range carries, the limit's default, its rendering."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stadtruf.asterisk.capacity import render_capacity_env, template_values
from stadtruf.asterisk.topology import servicecenter_settings
from stadtruf.config import load
from stadtruf.config.capacity import Capacity
from stadtruf.core.capacity import calls_carried, rtp_legs
from stadtruf.paths import asterisk_docker_dir, sample_config_dir
from tests.support.addresses import TEST_PLAN


@pytest.mark.parametrize(
    ("start", "end", "legs", "calls"),
    [
        (20000, 20999, 500, 250),  # the old range: the silent cap of issue 9 at 500 legs
        (20000, 29999, 5000, 2500),  # the default
        (20001, 20004, 1, 0),  # odd start: Asterisk starts at the next even port
        (20000, 20001, 1, 0),
        (20000, 20000, 0, 0),  # RTCP's odd port does not fit
    ],
)
def test_what_a_range_carries(start: int, end: int, legs: int, calls: int) -> None:
    assert rtp_legs(start, end) == legs
    assert calls_carried(start, end) == calls


@given(st.integers(1024, 65535), st.integers(0, 20000))
def test_legs_never_need_more_ports_than_the_range(start: int, width: int) -> None:
    end = start + width
    legs = rtp_legs(start, end)
    assert 2 * legs <= width + 1
    assert 2 * legs >= width - 1  # at most one port is left over at each end


def test_the_default_carries_the_goal_of_2000_legs() -> None:
    capacity = Capacity()
    assert rtp_legs(capacity.rtp_port_start, capacity.rtp_port_end) >= 2000
    assert capacity.call_limit == capacity.carried == 2500


def test_an_explicit_limit_wins() -> None:
    assert Capacity(max_calls=3).call_limit == 3


def test_sample_config_renders_into_the_servicecenter() -> None:
    capacity = load(sample_config_dir()).service_center.capacity
    settings = servicecenter_settings(TEST_PLAN, "pw", "", capacity=capacity)
    values = settings.template_values()
    assert (values["RTP_START"], values["RTP_END"]) == ("20000", "29999")
    assert values["MAX_CALLS"] == "2500"


def test_templates_and_docker_use_the_same_names() -> None:
    capacity = Capacity(rtp_port_start=40000, rtp_port_end=40999, max_calls=100)
    env = render_capacity_env(capacity)
    assert "STADTRUF_RTP_START=40000\n" in env
    assert "STADTRUF_MAX_CALLS=100\n" in env
    templates = asterisk_docker_dir() / "asterisk"
    rendered = (templates / "rtp.conf").read_text() + (templates / "extensions.conf").read_text()
    for name in template_values(capacity):
        assert f"@@{name}@@" in rendered
    entrypoint = (asterisk_docker_dir() / "docker-entrypoint.sh").read_text()
    assert "/stadtruf/generated/capacity.env" in entrypoint
