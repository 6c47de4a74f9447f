"""The API server's settings from `api:` (users file, TLS) and `stadtruf web-user`."""

from __future__ import annotations

import io
import shutil
import ssl
import subprocess
from pathlib import Path

import aiohttp
import pytest

from stadtruf.api.agent_api import ApiServer, make_api
from stadtruf.api.web_setup import WebSetupError, server_extras, users_path
from stadtruf.cli import main
from stadtruf.config import load_site
from stadtruf.core.web_access import check_login
from stadtruf.paths import sample_config_dir
from tests.unit.test_agent_api import AUTH, PASSWORDS, Clock, FakeControl, basic

AGENTS = ["agent-101", "agent-102"]


def copy_config(tmp_path: Path, api: str = "") -> Path:
    target = tmp_path / "config"
    shutil.copytree(sample_config_dir(), target)
    if api:
        center = target / "service-center.yaml"
        center.write_text(center.read_text() + "\n" + api)
    return target


def test_web_user_writes_a_hash_line_and_replaces_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = copy_config(tmp_path, "api:\n  users_file: web-users\n")
    for password in ("Erstes-Passwort-1", "Zweites-Passwort-2"):
        monkeypatch.setattr("sys.stdin", io.StringIO(password + "\n"))
        assert main(["web-user", "--config", str(config), "agent-101", "--role", "agent"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("Aufsicht-Passwort\n"))
    assert main(["web-user", "--config", str(config), "chefin", "--role", "supervisor"]) == 0
    path = config / "web-users"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    text = path.read_text()
    assert "Passwort" not in text
    assert [line.split()[:2] for line in text.splitlines()] == [
        ["agent-101", "agent"],
        ["chefin", "supervisor"],
    ]
    site = load_site(config)
    web, tls = server_extras(site.config, [*AGENTS, "agent-103"], "127.0.0.1")
    assert tls is None and web is not None
    assert check_login(web.users, "agent-101", "Zweites-Passwort-2") is not None
    assert check_login(web.users, "agent-101", "Erstes-Passwort-1") is None
    # Refused: an agent the agents file does not have, a short password.
    monkeypatch.setattr("sys.stdin", io.StringIO("Lang-genug-123\n"))
    assert main(["web-user", "--config", str(config), "agent-999", "--role", "agent"]) == 1
    monkeypatch.setattr("sys.stdin", io.StringIO("kurz\n"))
    assert main(["web-user", "--config", str(config), "chefin", "--role", "supervisor"]) == 1
    assert "agent-999" in capsys.readouterr().err


def test_no_users_file_no_web_ui_and_a_broken_one_is_refused(tmp_path: Path) -> None:
    config = copy_config(tmp_path, "api:\n  users_file: web-users\n")
    site = load_site(config)
    assert users_path(site.config) == config / "web-users"
    assert server_extras(site.config, AGENTS, "127.0.0.1") == (None, None)
    (config / "web-users").write_text("agent-101 agent klartext\n")
    with pytest.raises(WebSetupError, match="Zeile 1"):
        server_extras(site.config, AGENTS, "127.0.0.1")


def test_a_non_loopback_address_needs_tls(tmp_path: Path) -> None:
    site = load_site(copy_config(tmp_path))
    with pytest.raises(WebSetupError, match="nur mit TLS"):
        server_extras(site.config, AGENTS, "10.1.2.3")


def make_certificate(directory: Path) -> None:
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
            "-keyout", str(directory / "api.key"), "-out", str(directory / "api.crt"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )  # fmt: skip


async def test_with_a_certificate_the_api_speaks_https(tmp_path: Path) -> None:
    config = copy_config(tmp_path, "api:\n  tls_certificate: api.crt\n  tls_key: api.key\n")
    make_certificate(config)
    site = load_site(config)
    _, context = server_extras(site.config, AGENTS, "10.1.2.3")  # allowed now
    assert context is not None
    clock = Clock()
    server = ApiServer(make_api(FakeControl(clock), AUTH, None, clock))
    await server.start("127.0.0.1", 0, ssl_context=context)
    try:
        client = ssl.create_default_context(cafile=str(config / "api.crt"))
        headers = {"Authorization": basic("agent-101", PASSWORDS["agent-101"])}
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"https://127.0.0.1:{server.port}/agents/agent-101", headers=headers, ssl=client
            ) as response,
        ):
            assert response.status == 200
            assert (await response.json())["id"] == "agent-101"
    finally:
        await server.close()


def test_a_certificate_that_cannot_be_read_is_refused(tmp_path: Path) -> None:
    config = copy_config(tmp_path, "api:\n  tls_certificate: fehlt.crt\n  tls_key: fehlt.key\n")
    site = load_site(config)
    with pytest.raises(WebSetupError, match="TLS"):
        server_extras(site.config, AGENTS, "127.0.0.1")
