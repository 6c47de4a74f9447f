"""Who may log in to the web UI and what each may see and do. Pure: no HTTP, no files.

The users file has one line per person: `name role hash`, role `agent` (name = the agent's
id) or `supervisor`; hash from `password_hash` (scrypt), or `-` for a user who may come only
through the trusted reverse-proxy header. Blank lines and `#` comments are ignored.

An agent sees and acts only for itself (its screen, its state); a supervisor sees the
wallboard and every agent's screen, and may change any agent's state.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import urlsplit

Role = Literal["agent", "supervisor"]
ROLES: tuple[Role, ...] = ("agent", "supervisor")
NO_PASSWORD = "-"
_N, _R, _P = 2**14, 8, 1  # scrypt cost: ~50 ms, 16 MiB


@dataclass(frozen=True)
class User:
    name: str
    role: Role
    password_hash: str = field(default=NO_PASSWORD, repr=False)

    @property
    def agent(self) -> str | None:
        return self.name if self.role == "agent" else None


def password_hash(password: str, salt: bytes | None = None) -> str:
    """`scrypt$n$r$p$salt$hash` (hex) of `password`."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


# Checked when the user is unknown, so the answer time does not tell which names exist.
_DUMMY = password_hash("\0unknown", b"stadtruf-dummy!!")


def verify(password: str, stored: str) -> bool:
    """Whether `password` matches `stored` (from `password_hash`); `-` matches nothing."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return False
    try:
        n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
        salt, expected = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
        if n > 2**20 or r > 32 or p > 16:  # a file must not make us spend a minute per login
            return False
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=salt,
            n=n,
            r=r,
            p=p,
            dklen=len(expected),
            maxmem=256 * 1024 * 1024,
        )
    except ValueError:
        return False
    return hmac.compare_digest(got, expected)


def parse_users(lines: Iterable[str], agents: Iterable[str]) -> tuple[dict[str, User], list[str]]:
    """The users of the file's `lines`, and a problem (German, with line number) per bad line.
    `agents` are the agent ids of the agents file: an agent's name must be one of them."""
    known = set(agents)
    users: dict[str, User] = {}
    problems: list[str] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 3:
            problems.append(f"Zeile {number}: erwartet 'Name Rolle Hash'")
            continue
        name, role, stored = parts
        if role not in ROLES:
            problems.append(f"Zeile {number}: Rolle '{role}' gibt es nicht (agent, supervisor)")
        elif role == "agent" and name not in known:
            problems.append(f"Zeile {number}: Agent '{name}' steht nicht in der Agentendatei")
        elif name in users:
            problems.append(f"Zeile {number}: '{name}' steht schon weiter oben")
        elif stored != NO_PASSWORD and not stored.startswith("scrypt$"):
            problems.append(f"Zeile {number}: kein scrypt-Hash (stadtruf web-user erzeugt ihn)")
        else:
            users[name] = User(name, role, stored)
    return users, problems


def check_login(users: Mapping[str, User], name: str, password: str) -> User | None:
    """The user if `password` is theirs; always one hash computed, known name or not."""
    user = users.get(name)
    matches = verify(password, user.password_hash if user is not None else _DUMMY)
    return user if matches and user is not None else None


# --- What each may see and do --------------------------------------------------------------

Page = Literal["wallboard", "agent_screen", "agent_action"]


def may(user: User, page: Page, agent: str | None = None) -> bool:
    if user.role == "supervisor":
        return True
    return page != "wallboard" and agent is not None and agent == user.agent


def home(user: User) -> str:
    """Where a user lands after the login."""
    return "/ui/wallboard" if user.role == "supervisor" else f"/ui/agent/{user.name}"


# --- Cross-site requests -----------------------------------------------------------------------


def same_origin(origin: str | None, referer: str | None, host: str, scheme: str) -> bool:
    """Whether a state-changing request comes from our own pages: its `Origin` (else its
    `Referer`) must be `scheme://host`. Neither header: refused (browsers send one)."""
    source = origin if origin not in (None, "", "null") else referer
    if not source:
        return False
    parts = urlsplit(source)
    return parts.scheme == scheme and parts.netloc.lower() == host.lower()


def token_matches(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
