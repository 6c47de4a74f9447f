"""Loading the configuration: the samples, defaults, immutability, the schema, the CLI."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stadtruf import cli
from stadtruf.config import ConfigError, Problem, QueueAction, load
from stadtruf.config.schema import KINDS, schema_text

ROOT = Path(__file__).parents[2]
SAMPLES = [ROOT / "config", ROOT / "config/examples/kreis-wesel", ROOT / "config/examples/leipzig"]
BASE = ROOT / "tests/broken_configs/_base"
OURS = ("stadtruf.commands.config", "stadtruf.commands.simulate")


@pytest.fixture(autouse=True)
def _only_our_commands(monkeypatch: pytest.MonkeyPatch) -> None:
    # Through the real `stadtruf.cli.main`, but with only our subcommands registered: the
    # other command modules are not this test's business (nor their import-time state).
    monkeypatch.setattr(cli, "_COMMAND_MODULES", OURS)


@pytest.mark.parametrize("directory", SAMPLES, ids=lambda p: p.name)
def test_samples_load(directory: Path) -> None:
    cfg = load(directory)
    assert cfg.clients
    for client in cfg.clients.values():
        for node in client.menu.menus.values():
            # defaults are filled in, so the menu engine never looks anything up
            assert node.timeout is not None and node.retries is not None
            assert node.default is not None


@pytest.mark.parametrize("directory", SAMPLES, ids=lambda p: p.name)
def test_samples_pass_config_check(directory: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["config", "check", str(directory)]) == 0
    assert "in Ordnung" in capsys.readouterr().out


def test_duisburg_sample_matches_the_domain() -> None:
    cfg = load(ROOT / "config")
    assert set(cfg.clients) == {"duisburg", "dinslaken", "bottrop", "rees", "wbd"}
    assert cfg.switchboards["02041700"] == "bottrop"
    assert cfg.area_codes["02045"] == ("bottrop",)  # Kirchhellen
    assert cfg.clients["bottrop"].tag == "BOT"
    assert cfg.service_center.unknown_caller.town_menu is not None


def test_kreis_wesel_switchboards() -> None:
    cfg = load(ROOT / "config/examples/kreis-wesel")
    assert cfg.clients["kreis-wesel"].switchboard_numbers == ("02812070", "028412020")
    assert cfg.area_codes["02841"] == ("kreis-wesel", "moers")


def test_every_sample_file_points_at_an_existing_schema() -> None:
    for directory in SAMPLES:
        for path in directory.glob("*.yaml"):
            first = path.read_text(encoding="utf-8").splitlines()[0]
            assert first.startswith("# yaml-language-server: $schema="), path
            target = (path.parent / first.split("$schema=", 1)[1]).resolve()
            kind = "service-center" if path.name == "service-center.yaml" else "client"
            assert target == (ROOT / f"config/schema/{kind}.schema.json").resolve(), path


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_committed_schema_is_up_to_date(kind: str) -> None:
    committed = (ROOT / f"config/schema/{kind}.schema.json").read_text(encoding="utf-8")
    assert committed == schema_text(kind), "run: stadtruf config schema --out config/schema"


def test_schema_command(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["config", "schema", "service-center"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert "topics" in schema["properties"]
    assert cli.main(["config", "schema", "--out", str(tmp_path)]) == 0
    assert {p.name for p in tmp_path.iterdir()} == {
        "client.schema.json",
        "service-center.schema.json",
    }


def test_config_is_immutable() -> None:
    cfg = load(ROOT / "config")
    client = cfg.clients["bottrop"]
    with pytest.raises(TypeError):
        cfg.clients["x"] = client  # type: ignore[index]
    with pytest.raises(TypeError):
        client.menu.menus["main"].options["9"] = QueueAction(queue="kfz")  # type: ignore[index]
    with pytest.raises(ValueError):  # pydantic's frozen error
        client.name = "Gladbeck"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        cfg.directory = Path("/")  # type: ignore[misc]


def test_unquoted_numbers_are_not_octal(tmp_path: Path) -> None:
    shutil.copytree(BASE, tmp_path, dirs_exist_ok=True)
    alpha = tmp_path / "alpha.yaml"
    # 02041700 unquoted is an octal integer in YAML 1.1; we must keep the written digits.
    alpha.write_text(alpha.read_text().replace('["02041 70-0"]', "[02041700]"), encoding="utf-8")
    assert load(tmp_path).clients["alpha"].switchboard_numbers == ("02041700",)


def test_defaults_layering(tmp_path: Path) -> None:
    shutil.copytree(BASE, tmp_path, dirs_exist_ok=True)
    alpha = tmp_path / "alpha.yaml"
    text = (
        alpha.read_text()
        .replace("menu:\n", "menu_defaults: {timeout: 7}\nmenu:\n")
        .replace(
            '      prompt: "Kfz 1, Abfall 2."', '      prompt: "Kfz 1, Abfall 2."\n      retries: 0'
        )
    )
    alpha.write_text(text, encoding="utf-8")
    node = load(tmp_path).clients["alpha"].menu.menus["main"]
    assert (node.timeout, node.retries) == (7, 0)  # client default, menu's own value
    assert node.default == QueueAction(queue="vermittlung")  # service center default


def test_all_problems_at_once_and_sorted(tmp_path: Path) -> None:
    shutil.copytree(BASE, tmp_path, dirs_exist_ok=True)
    broken = ROOT / "tests/broken_configs"
    for name in ("misspelt_key.yaml", "lowercase_tag.yaml", "bad_switchboard_number.yaml"):
        shutil.copyfile(broken / name, tmp_path / name)
    with pytest.raises(ConfigError) as caught:
        load(tmp_path)
    problems = caught.value.problems
    assert [p.file.name for p in problems] == [
        "bad_switchboard_number.yaml",
        "lowercase_tag.yaml",
        "misspelt_key.yaml",
    ]
    assert all(isinstance(p, Problem) and p.line >= 1 and p.col >= 1 for p in problems)


def test_problem_str() -> None:
    problem = Problem(Path("config/bottrop.yaml"), 12, 9, "Taste 'x' gibt es nicht")
    assert str(problem) == "config/bottrop.yaml:12:9: Taste 'x' gibt es nicht"


def test_missing_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert cli.main(["config", "check", str(tmp_path / "nope")]) == 1
    assert "Verzeichnis nicht gefunden" in capsys.readouterr().out


def test_missing_service_center_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    shutil.copyfile(BASE / "alpha.yaml", tmp_path / "alpha.yaml")
    assert cli.main(["config", "check", str(tmp_path)]) == 1
    assert f"{tmp_path / 'service-center.yaml'}:1:1: Datei fehlt" in capsys.readouterr().out


def test_binary_file_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    shutil.copytree(BASE, tmp_path, dirs_exist_ok=True)
    (tmp_path / "kaputt.yaml").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ConfigError) as caught:
        load(tmp_path)
    assert "UTF-8" in str(caught.value)
