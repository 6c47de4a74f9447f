"""`stadtruf simulate` on the sample config, through the real CLI entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from stadtruf import cli
from stadtruf.commands.simulate import parse_keys

ROOT = Path(__file__).parents[2]
CONFIG = str(ROOT / "config")
OURS = ("stadtruf.commands.config", "stadtruf.commands.simulate")


@pytest.fixture(autouse=True)
def _only_our_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # Through the real `stadtruf.cli.main`, but with only our subcommands registered.
    monkeypatch.setattr(cli, "_COMMAND_MODULES", OURS)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = cli.main(["simulate", *args, "--config", CONFIG])
    return status, capsys.readouterr().out


def test_kirchhellen_115_kfz(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "auto", "--from", "+49 2045 1234", "--to", "115", "--digits", "2,1")
    assert status == 0
    assert "Vorwahl 02045" in out and "[area_code]" in out
    assert "Kunde: Bottrop [BOT]" in out
    assert "→ Warteschlange kfz" in out
    assert "[BOT] Kfz-Zulassung" in out and "X-Origin-City: Bottrop" in out


def test_withheld_caller_gets_the_town_menu(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "auto", "--from", "anonymous", "--to", "115", "--digits", "4,1")
    assert status == 0
    assert "Stadtauswahl:" in out and "Kunde: Rees [REE]" in out
    assert "→ Warteschlange buergerbuero" in out


def test_diversion_and_transfer(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(
        capsys, "auto", "--to", "0203 94000", "--diversion", "sip:02064660@pbx", "--digits", "2"
    )
    assert status == 0
    assert "[diversion]" in out and "→ Weiterleitung an 02812070" in out


def test_silent_caller_shows_the_fallback(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "duisburg")
    assert status == 0
    assert out.count("s keine Eingabe") == 3  # prompt + 2 retries
    assert "Wiederholungen aufgebraucht" in out and "→ Warteschlange vermittlung" in out


def test_english_back_to_german_and_barge_in(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "duisburg", "--digits", "9,*,1,2", "--barge-in")
    assert status == 0
    assert "Sprache: en" in out and "Sprache: de" in out
    assert "unterbricht" in out
    assert "→ Warteschlange ausweis" in out


def test_hang_up(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "rees", "--digits", "h")
    assert status == 0 and "aufgelegt" in out


def test_explicit_client_warns_when_origin_disagrees(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "duisburg", "--from", "02041 1", "--to", "115", "--digits", "0")
    assert status == 0 and "Hinweis: die Herkunftsermittlung ergäbe bottrop" in out


def test_unknown_client(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "gladbeck")
    assert status == 2 and "gibt es nicht" in out


def test_broken_config_is_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    status = cli.main(["simulate", "auto", "--config", str(tmp_path)])
    assert status == 1
    assert "Traceback" not in capsys.readouterr().out


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("2,1", ["2", "1"]),
        ("2 1", ["2", "1"]),
        ("21", ["2", "1"]),
        ("2,t,*", ["2", "t", "*"]),
        ("", []),
        ("1,h", ["1", "h"]),
    ],
)
def test_parse_keys(text: str, keys: list[str]) -> None:
    assert parse_keys(text) == keys


def test_bad_keys(capsys: pytest.CaptureFixture[str]) -> None:
    status, out = run(capsys, "duisburg", "--digits", "2,x")
    assert status == 2 and "'x' ist keine Taste" in out


def test_the_language_chosen_in_the_town_menu_is_kept(capsys: pytest.CaptureFixture[str]) -> None:
    # Regression: simulate once always went on in the client's language.
    status, out = run(capsys, "auto", "--from", "anonymous", "--to", "115", "--digits", "9,1,0")
    assert status == 0
    assert "Sprache: en" in out and "Kunde: Duisburg [DU]" in out
    assert "Anrufername: [DU] Vermittlung (EN)" in out


def test_a_town_without_the_chosen_language_goes_on_in_its_own(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, out = run(capsys, "auto", "--to", "115", "--digits", "9,3,0")
    assert status == 0 and "Kunde: Bottrop [BOT]" in out
    assert "Anrufername: [BOT] Vermittlung\n" in out


def test_config_defaults_to_the_same_directory_as_serve(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "_COMMAND_MODULES", (*OURS, "stadtruf.commands.serve"))
    parser = cli.build_parser()
    simulate = parser.parse_args(["simulate", "auto"])
    serve = parser.parse_args(["serve"])
    assert simulate.config == serve.config == ROOT / "config"


def test_a_closed_pipe_ends_quietly() -> None:
    """`stadtruf simulate … | head -3`: the reader is gone before the output is."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "stadtruf.cli", "simulate", "duisburg", "--config", CONFIG],
            stdout=write_end,
            stderr=subprocess.PIPE,
            timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert done.stderr.decode() == ""
    assert done.returncode == cli.BROKEN_PIPE_STATUS
