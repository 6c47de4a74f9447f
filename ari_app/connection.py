"""How the app reaches ARI: the base URL, checked, and the Basic auth header. Shared by the
REST client and the event stream."""

from __future__ import annotations

import base64

import yarl

__all__ = ["base_url_of", "basic_auth_header"]


def base_url_of(url: str) -> yarl.URL:
    """Validate an ARI base URL such as ``http://127.0.0.1:8088/ari``.

    Credentials inside the URL are refused: URLs end up in logs and error messages, the
    password must not.
    """
    parsed = yarl.URL(url)
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise ValueError(f"ARI base URL must be http(s)://host[:port]/ari, got {url!r}")
    if parsed.user is not None or parsed.password is not None:
        raise ValueError(
            "ARI base URL must not contain credentials; pass username and password separately"
        )
    if parsed.query_string or parsed.fragment:
        raise ValueError("ARI base URL must not have a query string or fragment")
    return parsed.with_path(parsed.path.rstrip("/"))


def basic_auth_header(username: str, password: str) -> dict[str, str]:
    """The Authorization header for ARI's basic auth.

    Built by hand because aiohttp 3.14 deprecates BasicAuth/`auth=` and its replacement,
    `encode_basic_auth`, does not exist in the older aiohttp versions we still allow.
    """
    if ":" in username:
        raise ValueError("ARI username must not contain ':' (RFC 7617)")
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return {"Authorization": f"Basic {token}"}
