"""Who may dial what out of the service center (the toll-fraud allow-list), from the config."""

from __future__ import annotations

from stadtruf.config import load
from stadtruf.config.agents import AgentsConfig
from stadtruf.config.site import load_site
from stadtruf.core.outbound import outbound_policy
from stadtruf.paths import sample_config_dir


def test_sample_config() -> None:
    config = load(sample_config_dir())
    policy = outbound_policy(config, load_site(sample_config_dir()).agents)
    # Menu targets (Bottrop, Dinslaken ×2; the WBD endpoint is no number) and the abfall
    # queue's overflow target.
    assert policy.transfer_numbers == ("020360040", "0204170350", "0206460500", "02812070")
    # Agents also reach the office numbers, and each other.
    assert policy.agent_numbers == ("02032830", *policy.transfer_numbers)
    assert policy.agents == ("agent-101", "agent-102", "agent-103", "agent-104")


def test_without_agents_file_only_the_menu_targets() -> None:
    config = load(sample_config_dir())
    policy = outbound_policy(config, None)
    assert policy.transfer_numbers == ("0204170350", "0206460500", "02812070")
    assert policy.agents == ()


def test_overflow_targets_of_every_queue_and_the_defaults() -> None:
    config = load(sample_config_dir())
    agents = AgentsConfig.model_validate(
        {
            "defaults": {"overflow": {"transfer": "+49 203 1111"}},
            "queues": {"kfz": {"overflow": {"transfer": "0031 20 1234567"}}},
            "agents": [{"id": "x-1", "name": "X", "skills": [{"topic": "*"}]}],
        }
    )
    policy = outbound_policy(config, agents)
    # An international target written into the config is allowed: it is the only one.
    assert {"02031111", "0031201234567"} <= set(policy.transfer_numbers)
    assert policy.agents == ("x-1",)
