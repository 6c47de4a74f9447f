"""`api:` in service-center.yaml: the agent state API and web UI's TLS and logins.

Paths are relative to service-center.yaml. Descriptions are for the admin, in German.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from stadtruf.config.fields import Frozen


class ApiConfig(Frozen):
    tls_certificate: str | None = Field(
        default=None,
        description="Zertifikat (PEM, mit Kette) für HTTPS; nötig, wenn die API nicht nur "
        "auf Loopback lauscht",
    )
    tls_key: str | None = Field(default=None, description="Privater Schlüssel (PEM) dazu")
    users_file: str | None = Field(
        default=None,
        description="Benutzerdatei der Weboberfläche (Name Rolle Hash je Zeile; stadtruf "
        "web-user); ohne Angabe run/web-users",
    )
    trusted_header: str | None = Field(
        default=None,
        description="Kopfzeile, in der ein vorgeschalteter Reverse Proxy den angemeldeten "
        "Benutzer nennt, z. B. X-Remote-User",
    )
    trusted_proxies: tuple[str, ...] = Field(
        default=(), description="Adressen des Reverse Proxys; nur von dort zählt trusted_header"
    )

    @model_validator(mode="after")
    def _pairs(self) -> ApiConfig:
        if (self.tls_certificate is None) != (self.tls_key is None):
            raise ValueError("tls_certificate und tls_key nur zusammen angeben")
        if self.trusted_header is not None and not self.trusted_proxies:
            raise ValueError("trusted_header braucht trusted_proxies")
        return self
