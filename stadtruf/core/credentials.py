"""Which secrets are too weak to start with: empty, a default, a sample, or short.

A telephone system on the public network is scanned from its first day; a password from a
sample file or a vendor default is the first one tried (svcrack's dictionaries start with
them). So the app refuses to start with such a password, with a message that says which
setting to change, instead of starting and being taken over. `weak_secret` is the one rule for
the ARI password, the agents' SIP passwords and generated per-run secrets.
"""

from __future__ import annotations

MIN_LENGTH = 12
# The ARI password is checked by Asterisk on every ARI request, so its stored hash must be
# cheap (asterisk-docker/render-config.sh): its length, not the hash's rounds, is what stands
# against guessing it from a copy of ari.conf. Hence a longer floor than for SIP passwords.
ARI_MIN_LENGTH = 20

# Defaults of Asterisk and FreePBX samples, of this project's docs, and what people type.
KNOWN_DEFAULTS = frozenset(
    {
        "asterisk",
        "stadtruf",
        "password",
        "passwort",
        "geheim",
        "secret",
        "changeme",
        "change-me",
        "admin",
        "amp111",
        "amp109",
        "1234",
        "123456",
        "12345678",
        "123456789012",
        "qwertz",
        "qwerty",
        "test",
        "testtest",
        "example",
        "beispiel",
        "password123",
        "passwort123",
        "stadtruf-secret",
        "agent-password",
    }
)


def weak_secret(value: str | None, *, name: str = "", min_length: int = MIN_LENGTH) -> str | None:
    """Why `value` must not be used as a password (German, for the admin), or None if it may.

    `name` (e.g. the user or agent id): a password equal to or containing it is refused too.
    `min_length`: ARI_MIN_LENGTH for the ARI password.

    >>> weak_secret("geheim"), weak_secret("kaVeUWHafoJNHgdy_l7AaVm_")
    ('ist ein bekanntes Standard- oder Beispielpasswort', None)
    """
    if value is None or value.strip() == "":
        return "ist leer"
    lowered = value.strip().lower()
    if lowered in KNOWN_DEFAULTS:
        return "ist ein bekanntes Standard- oder Beispielpasswort"
    if name and name.lower() in lowered:
        return f"enthält den Namen {name!r}"
    if len(value) < min_length:
        return f"ist kürzer als {min_length} Zeichen"
    if len(set(value)) < 4:
        return "besteht aus zu wenigen verschiedenen Zeichen"
    return None


__all__ = ["ARI_MIN_LENGTH", "KNOWN_DEFAULTS", "MIN_LENGTH", "weak_secret"]
