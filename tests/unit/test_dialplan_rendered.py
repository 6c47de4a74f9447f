"""The fail-open's rendered part, and the rendered examples in dialplan/rendered/.

The examples are what `stadtruf dialplan render` writes from the sample config: an admin reads
them, CI checks that they still match the renderer and the sample config.
"""

from __future__ import annotations

from pathlib import Path

from stadtruf.asterisk.dialplan import fallback_agents_context, numbers_conf, render_fallback_agents
from stadtruf.cli import main
from stadtruf.config.agents import AgentsConfig
from stadtruf.config.site import load_site
from stadtruf.core.prompts import INSTANCE_SOUNDS
from stadtruf.core.queue_prompts import entry_announcement
from stadtruf.paths import dialplan_dir, sample_config_dir

RENDERED = dialplan_dir() / "rendered" / "stadtruf-numbers.conf"
RERENDER = "stadtruf dialplan render --out dialplan/rendered"


def test_the_fallback_agents_are_checked_one_by_one() -> None:
    text = render_fallback_agents(["agent-102", "agent-101", "agent-101"], 12, "/p/x")
    assert text.splitlines() == [
        "[stadtruf-fallback-agents]",
        "exten => s,1,Set(STADTRUF_FALLBACK_RING_TIMEOUT=12)",
        " same => n,Set(STADTRUF_FALLBACK_PROMPT=/p/x)",
        " same => n,Set(LOCAL(ring)=)",
        " same => n,Gosub(stadtruf-fallback-agent,s,1(Stasis:stadtruf-agent-101,PJSIP/agent-101))",
        " same => n,Set(LOCAL(ring)=${ring}${GOSUB_RETVAL})",
        " same => n,Gosub(stadtruf-fallback-agent,s,1(Stasis:stadtruf-agent-102,PJSIP/agent-102))",
        " same => n,Set(LOCAL(ring)=${ring}${GOSUB_RETVAL})",
        " same => n,Return(${ring:1})",
    ]


def test_without_agents_the_fallback_rings_nobody_but_exists() -> None:
    config = load_site(sample_config_dir()).config
    text = fallback_agents_context(config, None)
    assert "Gosub" not in text
    assert text.endswith(" same => n,Return(${ring:1})\n")
    assert "[stadtruf-fallback-agents]" in numbers_conf(config, None)


def test_the_fallback_rings_as_long_as_the_queue_and_apologises_with_its_entry_text() -> None:
    config = load_site(sample_config_dir()).config
    agents = AgentsConfig.model_validate(
        {
            "defaults": {"ring_timeout": 7.6},
            "agents": [{"id": "agent-7", "name": "A", "skills": [{"topic": "*"}]}],
        }
    )
    text = fallback_agents_context(config, agents)
    assert "Set(STADTRUF_FALLBACK_RING_TIMEOUT=8)" in text
    apology = entry_announcement(config.service_center.default_language)[0]
    assert f"Set(STADTRUF_FALLBACK_PROMPT={INSTANCE_SOUNDS}/{apology.key})" in text
    assert "PJSIP/agent-7" in text


def test_the_committed_examples_match_the_renderer() -> None:
    site = load_site(sample_config_dir())
    assert RENDERED.exists(), f"{RENDERED} is missing: {RERENDER}"
    assert RENDERED.read_text(encoding="utf-8") == numbers_conf(site.config, site.agents), (
        f"{RENDERED} is out of date with the renderer or config/: re-render with `{RERENDER}` "
        "and commit the result"
    )


def test_the_command_writes_what_the_renderer_renders(tmp_path: Path) -> None:
    assert main(["dialplan", "render", "--out", str(tmp_path)]) == 0
    written = (tmp_path / "stadtruf-numbers.conf").read_text(encoding="utf-8")
    assert written == RENDERED.read_text(encoding="utf-8")


def test_a_broken_config_writes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.mkdir()
    (config / "broken.yaml").write_text("id: [\n", encoding="utf-8")
    assert main(["dialplan", "render", "--config", str(config), "--out", str(tmp_path / "o")]) == 1
    assert not (tmp_path / "o").exists()
