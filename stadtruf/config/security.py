"""The service center's security and data-protection settings (service-center.yaml
`sip_bans:` and `privacy:`); docs/security.md says what each protects. Field descriptions are
for the admin's editor, in German."""

from __future__ import annotations

from pydantic import Field, field_validator

from stadtruf.config.fields import Frozen
from stadtruf.core.bans import trusted_networks
from stadtruf.core.privacy import LogNumbers


class Privacy(Frozen):
    """Callers' personal data: what the log shows of a number, how long callbacks are kept
    (docs/security.md)."""

    log_numbers: LogNumbers = Field(
        default="area_code",
        description="Rufnummern der Anrufer im Log: area_code = nur die Vorwahl (z. B. 0203…), "
        "full = vollständig (nur zur Fehlersuche, danach zurückstellen)",
    )
    callback_retention_days: int = Field(
        default=30,
        ge=1,
        le=3650,
        description="Tage, nach denen Rückrufwünsche und Sprachnachrichten gelöscht werden",
    )


class SipBans(Frozen):
    """Brute force on SIP: an address that fails too often is banned for a while
    (stadtruf.core.bans, docs/security.md)."""

    max_failures: int = Field(
        default=5,
        ge=2,
        le=1000,
        description="Fehlversuche (Anmeldung, unbekanntes Konto) bis zur Sperre",
    )
    window_s: int = Field(
        default=60, ge=1, le=86400, description="Zeitfenster der Fehlversuche in Sekunden"
    )
    ban_s: int = Field(
        default=3600, ge=10, le=30 * 86400, description="Dauer der Sperre in Sekunden"
    )
    trusted_networks: tuple[str, ...] = Field(
        default=(),
        description="Adressen oder Netze (CIDR), die nie gesperrt werden, z. B. das Netz "
        "der Agenten hinter einer NAT-Adresse; der Carrier-Trunk ist es immer",
    )

    @field_validator("trusted_networks")
    @classmethod
    def _networks(cls, values: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return trusted_networks(values)
        except ValueError as exc:
            raise ValueError(f"kein Netz: {exc}") from None
