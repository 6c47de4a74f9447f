"""Rendering the agents' PJSIP endpoints."""

from __future__ import annotations

import pytest

from stadtruf.asterisk.agents import AgentEndpoint, render_phones, render_servicecenter_endpoints


def test_servicecenter_endpoint_has_auth_aor_and_single_contact() -> None:
    text = render_servicecenter_endpoints([AgentEndpoint("agent-101", "s3cret")], "127.0.0.1")
    sections = text.count("[agent-101]")
    assert sections == 3
    assert "password = s3cret" in text
    assert "max_contacts = 1" in text
    assert "context = from-agents" in text
    assert "media_address = 127.0.0.1" in text


def test_phones_register_to_the_servicecenter() -> None:
    text = render_phones([AgentEndpoint("agent-7", "pw")], "127.0.0.3", "127.0.0.1", 5060)
    assert "server_uri = sip:127.0.0.1:5060" in text
    assert "client_uri = sip:agent-7@127.0.0.1:5060" in text
    assert "line = yes" in text
    assert "from_user = agent-7" in text  # the ServiceCenter identifies its calls by it


@pytest.mark.parametrize(
    ("agent_id", "password"),
    [("Agent 1", "pw"), ("agent-1", ""), ("agent-1", "a\nb"), ("agent-1", "x;y"), ("", "pw")],
)
def test_unusable_names_and_passwords_are_refused(agent_id: str, password: str) -> None:
    with pytest.raises(ValueError):
        AgentEndpoint(agent_id, password)


def test_password_never_in_repr() -> None:
    assert "s3cret" not in repr(AgentEndpoint("agent-1", "s3cret"))
