"""The API server's settings from service-center.yaml's `api:`: the web UI's users file and
the TLS context. Problems are `WebSetupError` with a German message for the admin."""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from pathlib import Path

from stadtruf.api.web import WebSettings
from stadtruf.config import ServiceCenterConfig
from stadtruf.core.web_access import parse_users
from stadtruf.paths import run_dir


class WebSetupError(Exception):
    pass


def users_path(config: ServiceCenterConfig) -> Path:
    configured = config.service_center.api.users_file
    return config.directory / configured if configured else run_dir() / "web-users"


def web_settings(config: ServiceCenterConfig, agents: Iterable[str]) -> WebSettings | None:
    """The web UI's settings; None (no web UI) while the users file does not exist."""
    api = config.service_center.api
    path = users_path(config)
    if not path.exists():
        return None
    users, problems = parse_users(path.read_text(encoding="utf-8").splitlines(), agents)
    if problems:
        raise WebSetupError("; ".join(f"{path}: {p}" for p in problems))
    return WebSettings(users, api.trusted_header, frozenset(api.trusted_proxies))


def tls_context(config: ServiceCenterConfig) -> ssl.SSLContext | None:
    api = config.service_center.api
    if api.tls_certificate is None or api.tls_key is None:
        return None
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(
            config.directory / api.tls_certificate, config.directory / api.tls_key
        )
    except (OSError, ssl.SSLError) as exc:
        raise WebSetupError(f"TLS-Zertifikat oder Schlüssel nicht lesbar: {exc}") from exc
    return context


def server_extras(
    config: ServiceCenterConfig, agents: Iterable[str], host: str
) -> tuple[WebSettings | None, ssl.SSLContext | None]:
    """The web UI's settings and the TLS context for listening on `host`; refuses a
    non-loopback address without TLS before anything starts."""
    from stadtruf.api.agent_api import is_loopback

    context = tls_context(config)
    if context is None and not is_loopback(host):
        raise WebSetupError(
            f"{host} ist keine Loopback-Adresse: die API dort nur mit TLS "
            "(api: tls_certificate und tls_key in service-center.yaml)"
        )
    return web_settings(config, agents), context
