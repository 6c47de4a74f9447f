"""Errors raised by the ARI client.

Callers mostly care about two cases: the thing is already gone (`AriNotFound`, a normal race in
telephony: the caller hung up while we were talking to Asterisk) and Asterisk cannot be reached at
all (`AriUnavailable`). Everything else is an `AriError` carrying the HTTP status.
"""

from __future__ import annotations

import json as jsonlib


class AriError(Exception):
    """An ARI request failed. `status` is the HTTP status, or None if no response arrived."""

    def __init__(self, status: int | None, method: str, path: str, message: str) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        status = "no response" if self.status is None else f"HTTP {self.status}"
        return f"ARI {self.method} {self.path} failed ({status}): {self.message}"

    def __reduce__(self) -> tuple[type[AriError], tuple[int | None, str, str, str]]:
        # Keeps the exception picklable (multiprocessing, some log shippers) despite the
        # four-argument constructor.
        return (type(self), (self.status, self.method, self.path, self.message))


class AriNotFound(AriError):
    """HTTP 404: the channel, bridge, playback or variable does not exist (any more); also a
    channel that has just left the app (`left_stasis`)."""


class AriUnavailable(AriError):
    """No usable answer from Asterisk: connection refused or reset, DNS failure, timeout."""


def left_stasis(status: int, path: str, message: str) -> bool:
    """409 "Channel not in Stasis application" on a channel: it has just left the app (the
    caller hung up, StasisEnd is on its way). For a call's handler the same race as a 404, so
    the client raises `AriNotFound` for it too (a hostile INVITE answered and at once hung up
    crashed the handler)."""
    return status == 409 and path.startswith("/channels/") and "not in stasis" in message.lower()


def error_message(body: bytes, reason: str | None) -> str:
    """ARI errors are ``{"message": "..."}``; fall back to the raw text or the HTTP reason."""
    text = body.decode("utf-8", "replace").strip()
    try:
        decoded = jsonlib.loads(text) if text else None
    except ValueError:
        decoded = None
    if isinstance(decoded, dict):
        message = decoded.get("message") or decoded.get("error")
        if isinstance(message, str) and message:
            return message
    if text:
        return text if len(text) <= 200 else text[:200] + "…"
    return reason or "no details"
