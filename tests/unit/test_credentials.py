"""Weak secrets are refused at start (issue #13): empty, default, sample, short, name-like."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import structlog

from ari_app.settings import AriSettings, SettingsError
from stadtruf.api.auth import weak_tokens
from stadtruf.cli import main
from stadtruf.core.credentials import weak_secret
from stadtruf.paths import asterisk_docker_dir


@pytest.mark.parametrize(
    "value",
    ["", "   ", "asterisk", "Passwort", "geheim", "changeme", "amp111", "kurz", "aaaaaaaaaaaaaaaa"],
)
def test_weak_secrets_are_refused(value: str) -> None:
    assert weak_secret(value) is not None


def test_a_secret_with_the_user_name_is_refused() -> None:
    assert weak_secret("stadtruf-2026-Winter", name="stadtruf") == "enthält den Namen 'stadtruf'"


def test_a_random_secret_is_accepted() -> None:
    assert weak_secret("kaVeUWHafoJNHgdy_l7AaVm_", name="stadtruf") is None


# 19 random characters would do for a SIP password, not for ARI's (its hash is cheap).
@pytest.mark.parametrize(
    "password", ["", "asterisk", "stadtruf", "secret123", "kaVeUWHafoJNHgdy_l7"]
)
def test_the_app_refuses_to_start_with_a_weak_ari_password(password: str) -> None:
    with pytest.raises(SettingsError) as caught:
        AriSettings.from_env({"STADTRUF_ARI_PASSWORD": password})
    assert "STADTRUF_ARI_PASSWORD" in str(caught.value)
    assert not password or f"{password} " not in str(caught.value)


def test_ari_conf_keeps_only_a_crypt_hash_of_the_password(tmp_path: Path) -> None:
    base = asterisk_docker_dir()
    password = "kaVeUWHafoJNHgdy_l7AaVm_"
    env = {
        "PATH": "/usr/bin:/bin",
        "STADTRUF_ARI_USER": "stadtruf",
        "STADTRUF_ARI_PASSWORD": password,
        **{f"STADTRUF_{n}": "1" for n in ("BIND_ADDRESS", "SIP_PORT", "HTTP_PORT", "RTP_START")},
        **{
            f"STADTRUF_{n}": "1"
            for n in ("RTP_END", "CARRIER_ADDRESS", "CARRIER_PORT", "MAX_CALLS")
        },
    }
    out = tmp_path / "etc"
    result = subprocess.run(
        [str(base / "render-config.sh"), str(out), str(base / "asterisk")],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    ari = (out / "ari.conf").read_text()
    assert password not in ari
    assert "password_format = crypt" in ari
    hashed = next(line for line in ari.splitlines() if line.startswith("password = "))
    # A cheap hash: Asterisk checks it on every ARI request (render-config.sh)
    assert hashed.removeprefix("password = ").startswith("$sha1$64$")
    assert password not in "".join(p.read_text() for p in out.glob("*.conf"))


def test_weak_api_tokens_are_named_never_shown() -> None:
    problems = weak_tokens({"STADTRUF_API_TOKEN": "geheim", "STADTRUF_METRICS_TOKEN": "kurz"})
    assert [p.split()[0] for p in problems] == ["STADTRUF_API_TOKEN", "STADTRUF_METRICS_TOKEN"]
    assert not any("geheim" in p or "kurz " in p for p in problems)
    assert weak_tokens({"STADTRUF_API_TOKEN": "kaVeUWHafoJNHgdy_l7AaVm_"}) == []
    assert weak_tokens({}) == []


def test_serve_refuses_to_start_with_a_weak_api_token(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("STADTRUF_ARI_PASSWORD", "kaVeUWHafoJNHgdy_l7AaVm_")
    monkeypatch.setenv("STADTRUF_API_TOKEN", "changeme")
    try:
        assert main(["serve"]) == 2
    finally:
        structlog.reset_defaults()  # serve configured logging onto capsys' stream
    assert "STADTRUF_API_TOKEN ist ein bekanntes" in capsys.readouterr().err
