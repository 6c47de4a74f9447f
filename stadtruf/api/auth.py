"""Who may use the agent state API: the supervisor token, agents' Basic credentials, and
what each may do. Pure: no HTTP here, the middleware in `agent_api` asks these.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from stadtruf.core.credentials import weak_secret

TOKEN_ENV = "STADTRUF_API_TOKEN"
# A token that may only read /metrics: a Prometheus server need not hold the supervisor's.
METRICS_TOKEN_ENV = "STADTRUF_METRICS_TOKEN"


@dataclass(frozen=True)
class Principal:
    """Who is asking: an agent (by id) or, with `agent=None`, the supervisor token (or, with
    `scraper`, the metrics token)."""

    agent: str | None = None
    scraper: bool = False

    @property
    def is_supervisor(self) -> bool:
        return self.agent is None and not self.scraper

    @property
    def who(self) -> str:
        """For logs: the agent id, or `supervisor:token` (no agent id can contain a colon)."""
        if self.scraper:
            return "metrics:token"
        return self.agent if self.agent is not None else "supervisor:token"


SUPERVISOR = Principal()
SCRAPER = Principal(scraper=True)


@dataclass(frozen=True)
class ApiAuth:
    """The credentials the API accepts. Secrets stay out of `repr` (and so out of logs).

    `passwords` maps agent id → SIP password; the caller resolves them with
    `stadtruf.config.passwords.resolve_password`. Empty values count as not configured.
    """

    token: str | None = field(default=None, repr=False)
    passwords: Mapping[str, str] = field(default_factory=dict, repr=False)
    metrics_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        # Normalised once, so an empty env variable or password can never match an empty one.
        object.__setattr__(self, "token", self.token or None)
        object.__setattr__(self, "metrics_token", self.metrics_token or None)
        object.__setattr__(self, "passwords", {a: p for a, p in self.passwords.items() if p})

    @classmethod
    def from_env(cls, environ: Mapping[str, str], passwords: Mapping[str, str]) -> ApiAuth:
        return cls(environ.get(TOKEN_ENV) or None, passwords, environ.get(METRICS_TOKEN_ENV))

    @property
    def enabled(self) -> bool:
        return self.token is not None or bool(self.passwords) or self.metrics_token is not None

    def authenticate(self, header: str | None) -> Principal | None:
        """The principal an `Authorization` header proves; None if it proves nothing."""
        scheme, _, credentials = (header or "").strip().partition(" ")
        credentials = credentials.strip()
        scheme = scheme.lower()  # RFC 9110: auth schemes are case-insensitive
        if scheme == "bearer":
            # Both compared, whichever matches: the answer time does not tell which is set.
            supervisor = self.token is not None and _same(credentials, self.token)
            scraper = self.metrics_token is not None and _same(credentials, self.metrics_token)
            return SUPERVISOR if supervisor else SCRAPER if scraper else None
        if scheme == "basic" and self.passwords:
            pair = _basic_credentials(credentials)
            if pair is None:
                return None
            user, password = pair
            # Compare even for an unknown user, so the answer time does not tell which ids exist.
            expected = self.passwords.get(user)
            matches = _same(password, expected if expected is not None else "\0unknown")
            return Principal(user) if matches and expected is not None else None
        return None


def _same(given: str, expected: str) -> bool:
    # compare_digest on str only takes ASCII; as UTF-8 bytes any password works.
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _basic_credentials(encoded: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


Action = Literal[
    "list_agents",
    "read_agent",
    "change_agent",
    "read_queues",
    "read_callbacks",
    "close_callback",
    "read_metrics",
]


def permitted(principal: Principal, action: Action, agent: str | None = None) -> bool:
    """Whether `principal` may do `action` (on `agent`, for the per-agent actions)."""
    if principal.scraper:
        return action == "read_metrics"
    if principal.is_supervisor:
        return True
    if action in ("read_agent", "change_agent"):
        return agent == principal.agent
    # Agents work the callback list themselves; the full agent list is the supervisor's.
    return action in ("read_queues", "read_callbacks", "close_callback")


def weak_tokens(environ: Mapping[str, str]) -> list[str]:
    """Why a token set in the environment must not be used, one line each (German, for the
    admin; naming the variable, never the value). `serve` and `up` refuse to start then, as
    for a weak ARI password: the same rule (`core.credentials.weak_secret`)."""
    problems = []
    for variable in (TOKEN_ENV, METRICS_TOKEN_ENV):
        value = environ.get(variable)
        if value and (weak := weak_secret(value)) is not None:
            problems.append(f"{variable} {weak}; zufällig setzen: openssl rand -base64 24")
    return problems
