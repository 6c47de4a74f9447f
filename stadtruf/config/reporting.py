"""What the reports need from the config: each client's service-level target and its tariff.

```yaml
# service-center.yaml
service_level:
  target: {percent: 75, seconds: 30}   # the 115 promise; a client may set its own
  short_abandon_s: 5                   # callers who hang up sooner are counted apart

# <client>.yaml
service_level: {percent: 80, seconds: 30}
billing:
  monthly_fee: 4500       # EUR per month
  per_call: 1.60          # EUR per call
  per_minute: 0.00        # EUR per started minute
```

Money is `Decimal` (never float): the YAML number is read through its text, so `2.57` stays
exactly 2.57. Kept apart from `model.py`, which imports it, so this module needs nothing from
there; the core forms are `stadtruf.core.billing.Tariff` and `stadtruf.core.service_level.Target`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from stadtruf.core.billing import Tariff
from stadtruf.core.service_level import Target

MAX_DECIMALS = 4  # per-minute prices may go below a cent (0.0125 EUR)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _exact(value: object) -> object:
    # YAML gives a float for 2.57; its shortest text is what the admin wrote.
    return str(value) if isinstance(value, float) else value


def _money(value: Decimal) -> Decimal:
    if not value.is_finite() or value < 0:
        raise ValueError("Betrag muss eine Zahl ab 0 sein, z. B. 2.57")
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_DECIMALS:
        raise ValueError(f"höchstens {MAX_DECIMALS} Nachkommastellen, z. B. 0.0125")
    return value


Money = Annotated[
    Decimal,
    BeforeValidator(_exact),
    AfterValidator(_money),
    Field(description="Betrag in Euro, z. B. 2.57 (Punkt als Dezimaltrenner)"),
]


class ServiceLevelTarget(_Frozen):
    """A service-level promise: `percent` of the calls answered within `seconds`."""

    percent: int = Field(ge=1, le=100, description="Anteil der Anrufe in Prozent, z. B. 80")
    seconds: int = Field(
        ge=1, le=600, description="angenommen innerhalb dieser Sekunden Wartezeit, z. B. 30"
    )

    def target(self) -> Target:
        return Target(self.percent / 100, self.seconds)


class ServiceLevelSettings(_Frozen):
    """The service center's default target and how short abandons are counted."""

    target: ServiceLevelTarget = Field(
        default=ServiceLevelTarget(percent=75, seconds=30),
        description="Ziel für Kunden ohne eigenes service_level (Standard: 115-Versprechen "
        "75 % in 30 s)",
    )
    short_abandon_s: int = Field(
        default=5,
        ge=0,
        le=60,
        description="Anrufer, die nach weniger als so vielen Sekunden Wartezeit auflegen, "
        "zählen als Kurzaufleger: getrennt ausgewiesen, nicht gegen den Service-Level",
    )


class Billing(_Frozen):
    """How a client is billed per month: any of monthly fee, per call, per started minute."""

    monthly_fee: Money | None = Field(default=None, description="Pauschale je Monat in Euro")
    per_call: Money | None = Field(default=None, description="Euro je Anruf")
    per_minute: Money | None = Field(
        default=None,
        description="Euro je angefangene Minute (Dauer vom Eingang bis zum Auflegen, je Anruf "
        "aufgerundet)",
    )

    @model_validator(mode="after")
    def _something(self) -> Billing:
        if self.monthly_fee is None and self.per_call is None and self.per_minute is None:
            raise ValueError("monthly_fee, per_call oder per_minute angeben")
        return self

    def tariff(self) -> Tariff:
        return Tariff(
            monthly_fee=self.monthly_fee, per_call=self.per_call, per_minute=self.per_minute
        )
