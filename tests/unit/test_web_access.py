"""Who may log in to the web UI and what each may see (pure)."""

from __future__ import annotations

import pytest

from stadtruf.core.web_access import (
    User,
    check_login,
    may,
    parse_users,
    password_hash,
    same_origin,
    verify,
)

HASH = password_hash("geheim-12345")


def test_hash_verifies_and_hides_the_password() -> None:
    assert verify("geheim-12345", HASH)
    assert not verify("geheim-12346", HASH)
    assert "geheim" not in HASH
    assert not verify("x", "-")
    assert not verify("x", "scrypt$99999999999$8$1$00$00")  # absurd cost: refused
    assert password_hash("a") != password_hash("a")  # salted


def test_users_file() -> None:
    lines = [
        "# Weboberfläche",
        f"agent-101 agent {HASH}",
        f"aufsicht supervisor {HASH}",
        "proxy supervisor -",
        f"agent-999 agent {HASH}",
        "nur zwei",
        f"aufsicht supervisor {HASH}",
        "x admin -",
        "y agent-101 klartext",
    ]
    users, problems = parse_users(lines, ["agent-101"])
    assert sorted(users) == ["agent-101", "aufsicht", "proxy"]
    assert [p.split(":")[0] for p in problems] == [
        "Zeile 5",
        "Zeile 6",
        "Zeile 7",
        "Zeile 8",
        "Zeile 9",
    ]
    assert check_login(users, "agent-101", "geheim-12345") == users["agent-101"]
    assert check_login(users, "agent-101", "falsch") is None
    assert check_login(users, "proxy", "-") is None
    assert check_login(users, "niemand", "geheim-12345") is None


ANNA = User("agent-101", "agent")
BOSS = User("aufsicht", "supervisor")


@pytest.mark.parametrize(
    ("user", "page", "agent", "allowed"),
    [
        (ANNA, "agent_screen", "agent-101", True),
        (ANNA, "agent_action", "agent-101", True),
        (ANNA, "agent_screen", "agent-102", False),
        (ANNA, "agent_action", "agent-102", False),
        (ANNA, "wallboard", None, False),
        (BOSS, "wallboard", None, True),
        (BOSS, "agent_screen", "agent-102", True),
        (BOSS, "agent_action", "agent-102", True),
    ],
)
def test_who_may_see_what(user: User, page: str, agent: str | None, allowed: bool) -> None:
    assert may(user, page, agent) is allowed  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("origin", "referer", "ok"),
    [
        ("http://127.0.0.1:8480", None, True),
        ("http://127.0.0.1:8480", "http://evil.example/", True),  # Origin wins
        ("http://evil.example", None, False),
        ("https://127.0.0.1:8480", None, False),
        ("null", None, False),
        (None, "http://127.0.0.1:8480/ui/agent/agent-101", True),
        (None, "http://127.0.0.1:8480.evil.example/", False),
        (None, None, False),
    ],
)
def test_same_origin(origin: str | None, referer: str | None, ok: bool) -> None:
    assert same_origin(origin, referer, "127.0.0.1:8480", "http") is ok
