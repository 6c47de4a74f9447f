"""Callbacks and voicemails are deleted after their retention period (issue #13)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from stadtruf.retention import purge_once
from stadtruf.store.callbacks import CallbackStore, past_retention
from tests.support.fake_ari import FakeAri
from tests.unit.test_callbacks import T0, request

DAY = 24 * 60  # minutes


def test_the_period_counts_from_the_request() -> None:
    old = request(requested=0)
    assert not past_retention(old, T0 + timedelta(days=30) - timedelta(seconds=1), 30)
    assert past_retention(old, T0 + timedelta(days=30), 30)


def test_purge_deletes_old_requests_from_disk_and_their_recordings(tmp_path: Path) -> None:
    store = CallbackStore(tmp_path / "callbacks.jsonl")
    store.add(request("old", requested=0, number="02041999001"))
    store.add(request("voice", requested=1, recording="vm-voice", number="02041999002"))
    store.add(request("new", requested=20 * DAY, number="02041999003"))
    store.mark_done("old", "agent-101")  # a later line for the same request: gone too
    ari = FakeAri()
    deleted = asyncio.run(purge_once(store, ari, 30, T0 + timedelta(days=31)))
    assert deleted == (2, 1)
    assert [r.id for r in store.list()] == ["new"]
    text = store.path.read_text()
    assert "02041999001" not in text and "02041999002" not in text and "02041999003" in text
    assert ari.calls("delete_stored_recording") == [{"name": "vm-voice"}]
    # Nothing more to do: nothing rewritten, nothing deleted.
    assert asyncio.run(purge_once(store, ari, 30, T0 + timedelta(days=31))) == (0, 0)
