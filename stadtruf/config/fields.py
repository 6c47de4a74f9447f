"""The value types of the configuration: names, numbers, sounds, frozen maps and models.

Each type checks one value and says in German what is wrong with it (the admin reads it as
`file:line:col`). `model.py` builds the files' shape from these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from stadtruf.core.numbers import is_national, normalize

K = TypeVar("K")
V = TypeVar("V")


class FrozenMap(dict[K, V]):
    """A dict that refuses changes, so that a loaded config cannot be altered by accident.

    A dict subclass (not MappingProxyType) so pydantic still validates and serializes it.
    """

    def _refuse(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError("configuration is immutable")

    __setitem__ = __delitem__ = __ior__ = _refuse
    clear = pop = popitem = setdefault = update = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self.items()))


def _freeze(value: Mapping[Any, Any]) -> FrozenMap[Any, Any]:
    return FrozenMap(value)


def _checked(check: Callable[[str], str | None], message: str) -> AfterValidator:
    """A validator that normalizes with `check` and fails with the admin-facing `message`."""

    def validate(value: str) -> str:
        result = check(value)
        if result is None:
            raise ValueError(message.format(value=value))
        return result

    return AfterValidator(validate)


def _identifier(value: str) -> str | None:
    ok = value[:1].isascii() and value[:1].islower() and value[:1].isalpha()
    ok = ok and all(c.isascii() and (c.islower() or c.isdigit() or c in "-_") for c in value)
    return value if ok else None


def _language(value: str) -> str | None:
    return (
        value
        if len(value) == 2 and value.isascii() and value.isalpha() and value.islower()
        else None
    )


def _tag(value: str) -> str | None:
    ok = 2 <= len(value) <= 6 and all(c.isascii() and (c.isupper() or c.isdigit()) for c in value)
    return value if ok else None


def _switchboard(value: str) -> str | None:
    number = normalize(value)
    return number if number and is_national(number) and len(number) >= 6 else None


def _area_code(value: str) -> str | None:
    number = normalize(value)
    ok = number is not None and is_national(number) and 3 <= len(number) <= 11
    return number if ok else None


def _service_number(value: str) -> str | None:
    number = normalize(value)
    return number if number and len(number) >= 3 else None


def _office_number(value: str) -> str | None:
    number = normalize(value)
    return number if number and (is_national(number) or number.startswith("00")) else None


def _leika(value: str) -> str | None:
    return value if len(value) == 14 and value.isdigit() else None


def _sound(value: str) -> str | None:
    parts = value.split("/")
    ok = all(p and p not in (".", "..") for p in parts) and "." not in parts[-1]
    return value if ok and not value.startswith("/") else None


def _transfer_target(value: str) -> str | None:
    tech, _, resource = value.partition("/")
    if resource and tech in ("PJSIP", "SIP", "IAX2", "Local", "DAHDI"):
        return value
    number = normalize(value)
    return number if number and (is_national(number) or number.startswith("00")) else None


Identifier = Annotated[
    str,
    _checked(_identifier, "'{value}' ist kein gültiger Name: Kleinbuchstaben, Ziffern, - und _"),
]
Language = Annotated[
    str,
    _checked(_language, "'{value}' ist kein Sprachcode (zwei Kleinbuchstaben, z. B. de, en)"),
    Field(description="Sprachcode, z. B. de, en"),
]
DigitKey = Literal["0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "#"]
SwitchboardNumber = Annotated[
    str,
    _checked(_switchboard, "'{value}' ist keine Rufnummer mit Vorwahl (z. B. '02041 70-0')"),
]
AreaCode = Annotated[
    str,
    _checked(_area_code, "'{value}' ist keine Vorwahl (z. B. '02041' oder '+49 2041')"),
]
ServiceNumber = Annotated[
    str, _checked(_service_number, "'{value}' ist keine Rufnummer (z. B. '115')")
]
SoundName = Annotated[
    str,
    _checked(
        _sound,
        "'{value}' ist kein Ansagename: relativer Pfad ohne Dateiendung, "
        "z. B. 'bottrop/begruessung'",
    ),
    Field(description="Ansagedatei relativ zu sounds_dir, ohne Endung (Asterisk wählt das Format)"),
]
TransferTarget = Annotated[
    str,
    _checked(
        _transfer_target,
        "'{value}' ist kein Ziel: Rufnummer (z. B. '0203 283-0') oder Endpunkt (z. B. 'PJSIP/wbd')",
    ),
]
OfficeNumber = Annotated[
    str,
    _checked(_office_number, "'{value}' ist keine Rufnummer mit Vorwahl (z. B. '0203 283-0')"),
]
FederalState = Literal[
    "BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH"
]


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")
