"""The broken-config corpus: every file in tests/broken_configs/ must give its `file:line:col`
message through `stadtruf config check`, exit status 1, and no traceback.

Each case is one YAML file whose first line says what is expected::

    # expect: [FILE:]LINE:COL: message fragment
    # as: service-center.yaml        (optional: replace that file instead of adding a client)

The case is dropped into a copy of `_base/` (a valid service center with client `alpha`).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from stadtruf import cli

CORPUS = Path(__file__).parent.parent / "broken_configs"
CASES = sorted(p for p in CORPUS.glob("*.yaml"))
OURS = ("stadtruf.commands.config", "stadtruf.commands.simulate")


@pytest.fixture(autouse=True)
def _only_our_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # Through the real `stadtruf.cli.main`, but with only our subcommands registered: the
    # other command modules are not this test's business (nor their import-time state).
    monkeypatch.setattr(cli, "_COMMAND_MODULES", OURS)


def _expectation(case: Path) -> tuple[str | None, int, int, str, str | None]:
    lines = case.read_text(encoding="utf-8").splitlines()
    match = re.match(
        r"# expect: (?:(?P<file>[\w.-]+):)?(?P<line>\d+):(?P<col>\d+): (?P<msg>.+)", lines[0]
    )
    assert match, f"{case.name}: first line must be '# expect: LINE:COL: message'"
    target = None
    if len(lines) > 1 and lines[1].startswith("# as: "):
        target = lines[1].removeprefix("# as: ").strip()
    return match["file"], int(match["line"]), int(match["col"]), match["msg"], target


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 15


def test_base_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copytree(CORPUS / "_base", tmp_path / "cfg")
    assert cli.main(["config", "check", str(tmp_path / "cfg")]) == 0


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_broken_config(case: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    file, line, col, fragment, target = _expectation(case)
    directory = tmp_path / "cfg"
    shutil.copytree(CORPUS / "_base", directory)
    placed = directory / (target or case.name)
    shutil.copyfile(case, placed)

    status = cli.main(["config", "check", str(directory)])

    out, err = capsys.readouterr()
    assert status == 1
    assert "Traceback" not in out + err
    where = f"{directory / (file or placed.name)}:{line}:{col}: "
    hits = [row for row in out.splitlines() if row.startswith(where) and fragment in row]
    assert hits, f"expected a line starting {where!r} containing {fragment!r}, got:\n{out}"
    # Every line is `file:line:col: message`, so editors and CI can jump to it.
    assert all(re.match(r"^.+:\d+:\d+: .+", row) for row in out.splitlines())
