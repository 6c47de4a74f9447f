"""The callback store: line format, last-line-wins fold, working order, crash-safe appends."""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import structlog
from hypothesis import given, settings
from hypothesis import strategies as st

from stadtruf.store.callbacks import (
    CallbackRequest,
    CallbackStore,
    UnknownCallback,
    fold_lines,
    from_line,
    ordered,
    parse_utc,
    to_line,
    utc_iso,
)

T0 = datetime(2025, 3, 4, 9, 0, tzinfo=UTC)


def at(minutes: float) -> str:
    return utc_iso(T0 + timedelta(minutes=minutes))


def request(
    id: str = "cb1", *, queued: float = 0, requested: float = 5, **changes: Any
) -> CallbackRequest:
    base = CallbackRequest(
        id=id,
        number="+492036004123",
        client="duisburg",
        topic="kfz",
        language="de",
        requested_at=at(requested),
        queued_at=at(queued),
        waited_s=300.0,
    )
    return replace(base, **changes)


VALID = json.loads(to_line(request()))

# --- The line format ---------------------------------------------------------------------------


def test_line_is_one_json_object_ending_in_a_newline() -> None:
    line = to_line(request(number="+49 203\n6004"))
    assert line.endswith("\n") and line.count("\n") == 1
    assert from_line(line) == request(number="+49 203\n6004")


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"id": "cb1", "number": "+4920', "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (json.dumps({k: v for k, v in VALID.items() if k != "number"}), "number"),
        (json.dumps({**VALID, "colour": "red"}), "colour"),
        (json.dumps({**VALID, "number": ""}), "number must not be empty"),
        (json.dumps({**VALID, "id": 7}), "id must be a string"),
        (json.dumps({**VALID, "queued_at": "2025-03-04T09:00:00"}), "not a UTC timestamp"),
        (json.dumps({**VALID, "queued_at": "2025-03-04T10:00:00+01:00"}), "not a UTC"),
        (json.dumps({**VALID, "requested_at": "gestern"}), "Invalid isoformat"),
        (json.dumps({**VALID, "waited_s": -1}), "waited_s"),
        (json.dumps({**VALID, "waited_s": True}), "waited_s"),
        (json.dumps({**VALID, "waited_s": "300"}), "waited_s"),
        (json.dumps({**VALID, "status": "closed"}), "status"),
        (json.dumps({**VALID, "done_by": 101}), "done_by"),
        (json.dumps({**VALID, "recording": "../../etc/passwd"}), "recording"),
        (json.dumps({**VALID, "recording": ""}), "recording"),
        (json.dumps({**VALID, "recording": "vm-1", "recording_s": -2}), "recording_s"),
    ],
)
def test_bad_lines_are_refused(line: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        from_line(line)


def test_a_voicemail_is_a_callback_request_with_a_recording() -> None:
    voicemail = request(recording="stadtruf-vm-abc123", recording_s=12.5)
    assert (voicemail.kind, request().kind) == ("voicemail", "callback")
    assert from_line(to_line(voicemail)) == voicemail
    # Lines written before voicemails existed still read.
    old = {k: v for k, v in VALID.items() if not k.startswith("recording")}
    assert from_line(json.dumps(old)) == request()


@pytest.mark.parametrize(
    "text", ["2025-03-04T09:00:00+00:00", "2025-03-04T09:00:00Z", "2025-03-04T09:00:00.5+00:00"]
)
def test_utc_timestamps_are_taken(text: str) -> None:
    assert parse_utc(text).utcoffset() == timedelta(0)


def test_utc_iso_converts_and_refuses_naive_times() -> None:
    berlin = datetime(2025, 3, 4, 10, 0, tzinfo=timezone(timedelta(hours=1)))
    assert utc_iso(berlin) == "2025-03-04T09:00:00+00:00"
    with pytest.raises(ValueError, match="naive"):
        utc_iso(datetime(2025, 3, 4, 9, 0))


# --- The fold and the order (pure) ---------------------------------------------------------------


def test_later_line_for_the_same_id_wins() -> None:
    lines = [to_line(request("a")), to_line(request("b")), to_line(request("a").done("agent-101"))]
    records, bad = fold_lines(lines)
    assert bad == []
    assert records["a"].status == "done" and records["a"].done_by == "agent-101"
    assert records["b"].status == "open"


@pytest.mark.parametrize(
    ("lines", "bad_numbers", "last"),
    [
        ([to_line(request("a")), '{"id": "b", "num'], [2], [True]),
        ([to_line(request("a")), "\n", "garbage\n", to_line(request("c"))], [3], [False]),
        (["\n", "   \n"], [], []),
    ],
)
def test_unreadable_lines_are_reported_not_raised(
    lines: list[str], bad_numbers: list[int], last: list[bool]
) -> None:
    records, bad = fold_lines(lines)
    assert [b.number for b in bad] == bad_numbers
    assert [b.last for b in bad] == last
    assert all(r.id != "b" for r in records.values())


@pytest.mark.parametrize(
    ("requests", "status", "order"),
    [
        pytest.param(
            [request("late", queued=10), request("early", queued=1)],
            None,
            ["early", "late"],
            id="first-queued-first",
        ),
        pytest.param(
            # Asked for the callback later, but queued first: keeps their place.
            [request("b", queued=5, requested=6), request("a", queued=1, requested=60)],
            None,
            ["a", "b"],
            id="queued-not-requested",
        ),
        pytest.param(
            [request("b", requested=9), request("a", requested=9), request("c", requested=2)],
            None,
            ["c", "a", "b"],
            id="ties-by-request-then-id",
        ),
        pytest.param(
            [request("a"), request("b", queued=1).done("agent-101"), request("c", queued=2)],
            "open",
            ["a", "c"],
            id="open-only",
        ),
        pytest.param(
            [request("a"), request("b", queued=1).done(None)], "done", ["b"], id="done-only"
        ),
        pytest.param(
            [
                request("z", queued_at="2025-03-04T09:00:00.500000+00:00"),
                request("y", queued_at="2025-03-04T09:00:00Z"),
            ],
            None,
            ["y", "z"],
            id="instants-not-strings",
        ),
    ],
)
def test_working_order(requests: list[CallbackRequest], status: Any, order: list[str]) -> None:
    assert [r.id for r in ordered(requests, status)] == order


# --- The file -------------------------------------------------------------------------------


def test_missing_file_is_an_empty_list(tmp_path: Path) -> None:
    assert CallbackStore(tmp_path / "none.jsonl").list() == []


def test_add_and_list(tmp_path: Path) -> None:
    store = CallbackStore(tmp_path / "sub" / "callbacks.jsonl")
    store.add(request("b", queued=3))
    store.add(request("a", queued=1))
    assert [r.id for r in store.list()] == ["a", "b"]
    assert [r.id for r in CallbackStore(store.path).list("open")] == ["a", "b"]


def test_add_syncs_to_disk_before_returning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    store = CallbackStore(tmp_path / "callbacks.jsonl")
    store.add(request("a"))
    assert len(synced) == 2  # the file, then (new file) its directory entry
    store.add(request("b"))
    assert len(synced) == 3


def test_invalid_request_never_reaches_the_file(tmp_path: Path) -> None:
    store = CallbackStore(tmp_path / "callbacks.jsonl")
    with pytest.raises(ValueError):
        store.add(request(waited_s=float("nan")))
    assert not store.path.exists()


def test_mark_done_appends_and_keeps_the_first_closer(tmp_path: Path) -> None:
    store = CallbackStore(tmp_path / "callbacks.jsonl")
    store.add(request("a"))
    store.add(request("b", queued=1))
    done = store.mark_done("a", "agent-101")
    assert done == request("a").done("agent-101")
    assert store.path.read_text().count("\n") == 3  # append-only: the old line stays
    assert [r.id for r in store.list("open")] == ["b"]
    assert store.list("done") == [done]
    # A second close changes nothing and shows who closed it first.
    assert store.mark_done("a", "agent-102").done_by == "agent-101"
    assert store.path.read_text().count("\n") == 3
    assert store.get("a") == done and store.get("zzz") is None


def test_mark_done_unknown_id(tmp_path: Path) -> None:
    store = CallbackStore(tmp_path / "callbacks.jsonl")
    store.add(request("a"))
    with pytest.raises(UnknownCallback):
        store.mark_done("nope", "agent-101")
    with pytest.raises(KeyError):  # UnknownCallback is a KeyError too
        store.mark_done("nope", "agent-101")


def test_cut_off_last_line_is_skipped_with_one_warning(tmp_path: Path) -> None:
    store = CallbackStore(tmp_path / "callbacks.jsonl")
    store.add(request("a"))
    with store.path.open("a") as f:  # a crash in the middle of the next write
        f.write(to_line(request("b"))[:30])
    with structlog.testing.capture_logs() as logs:
        assert [r.id for r in store.list()] == ["a"]
        store.list()
    warnings = [e for e in logs if e["log_level"] == "warning"]
    assert len(warnings) == 1
    assert warnings[0]["event"] == "callback.line_skipped"
    assert warnings[0]["line"] == 2 and warnings[0]["cut_off"] is True
    # The next record starts on a line of its own, so it is not lost with the cut-off one.
    store.add(request("c", queued=2))
    assert [r.id for r in store.list()] == ["a", "c"]
    assert [r.id for r in CallbackStore(store.path).list()] == ["a", "c"]


def test_invalid_utf8_is_skipped_too(tmp_path: Path) -> None:
    path = tmp_path / "callbacks.jsonl"
    path.write_bytes(to_line(request("a")).encode() + b'{"id": "\xff\xfe')
    assert [r.id for r in CallbackStore(path).list()] == ["a"]


# --- Properties ------------------------------------------------------------------------------

texts = st.text(min_size=0, max_size=20)
requests = st.builds(
    CallbackRequest,
    id=st.text(min_size=1, max_size=12),
    number=st.text(min_size=1, max_size=20),
    client=texts,
    topic=texts,
    language=st.sampled_from(["de", "en", "tr"]),
    requested_at=st.datetimes(timezones=st.just(UTC)).map(utc_iso),
    queued_at=st.datetimes(timezones=st.just(UTC)).map(utc_iso),
    waited_s=st.one_of(
        st.integers(0, 10**6), st.floats(0, 1e6, allow_nan=False, allow_infinity=False)
    ),
    status=st.sampled_from(["open", "done"]),
    done_by=st.none() | st.sampled_from(["agent-101", "agent-102"]),
    recording=st.none() | st.from_regex(r"[A-Za-z0-9_-]{1,80}", fullmatch=True),
    recording_s=st.none() | st.floats(0, 600, allow_nan=False),
)


@given(requests)
def test_line_round_trip(req: CallbackRequest) -> None:
    line = to_line(req)
    assert line.count("\n") == 1 and line.isascii()
    assert from_line(line) == req


@settings(max_examples=50, deadline=None)
@given(st.lists(requests, max_size=8), st.data())
def test_store_round_trip_and_any_cut_in_the_last_write(
    added: list[CallbackRequest], data: st.DataObject
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        store = CallbackStore(Path(directory) / "callbacks.jsonl")
        for req in added:
            store.add(req)
        expected = ordered({r.id: r for r in added})
        assert store.list() == expected
        # A crash while writing one more record: every earlier one survives, nothing raises.
        extra = data.draw(requests)
        line = to_line(extra).encode()
        cut = data.draw(st.integers(0, len(line) - 2))  # not the whole line, newline or not
        with store.path.open("ab") as f:
            f.write(line[:cut])
        assert CallbackStore(store.path).list() == expected
