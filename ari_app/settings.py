"""How the Stasis app reaches Asterisk: ARI address, credentials and app name, from the env."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from stadtruf.core.credentials import ARI_MIN_LENGTH, weak_secret

DEFAULT_APP = "stadtruf"


class SettingsError(ValueError):
    """A setting is missing or wrong; the message says which variable to set."""


@dataclass(frozen=True)
class AriSettings:
    url: str
    user: str
    password: str = field(repr=False)
    app: str = DEFAULT_APP

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> AriSettings:
        env = os.environ if env is None else env
        password = env.get("STADTRUF_ARI_PASSWORD", "")
        if not password:
            # No default password: an ARI user with a known password controls every call.
            raise SettingsError(
                "STADTRUF_ARI_PASSWORD is not set: export the ARI password that Asterisk's "
                "ari.conf was rendered with"
            )
        user = env.get("STADTRUF_ARI_USER", "stadtruf")
        weak = weak_secret(password, name=user, min_length=ARI_MIN_LENGTH)
        if weak is not None:
            # Never the password in the message; the reason is in German, like the admin's docs.
            raise SettingsError(
                f"STADTRUF_ARI_PASSWORD {weak}: a default, sample or short ARI password is "
                "refused; set a random one (e.g. openssl rand -base64 18) and render "
                "Asterisk's config with it"
            )
        return cls(
            url=env.get("STADTRUF_ARI_URL", "http://127.0.0.1:8088/ari"),
            user=user,
            password=password,
            app=env.get("STADTRUF_ARI_APP", DEFAULT_APP),
        )
