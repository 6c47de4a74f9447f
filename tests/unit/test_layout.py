"""The layout shows the architecture: the core decides, the shell translates.

A core module that imports an I/O library or the ARI adapter has taken a decision's I/O into
the core (or a decision out of it); this test names the module and the import.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "stadtruf" / "core"
FORBIDDEN = ("asyncio", "aiohttp", "subprocess", "socket", "ari_app", "agi", "structlog")
# Product code; tests may be longer (one file per concept still), generated JSON is data.
MAX_LINES = 500


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


# rglob: a concept of the core may be a package (e.g. the queue engine's modules).
@pytest.mark.parametrize("path", sorted(CORE.rglob("*.py")), ids=lambda p: str(p.relative_to(CORE)))
def test_core_modules_do_no_io(path: Path) -> None:
    bad = sorted(
        name
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
        or name.startswith(("stadtruf.store", "stadtruf.api", "stadtruf.asterisk"))
    )
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: the core must not do I/O"


PRODUCT = ("stadtruf", "ari_app", "agi")
# Test support lives in tests/support; the product may not lean on it (or on test libraries).
TEST_ONLY = ("tests", "pytest", "hypothesis", "_pytest")


@pytest.mark.parametrize(
    "path",
    sorted(p for folder in PRODUCT for p in (ROOT / folder).rglob("*.py")),
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_product_modules_do_not_import_test_support(path: Path) -> None:
    bad = sorted(
        name
        for name in _imports(path)
        if any(name == t or name.startswith(t + ".") for t in TEST_ONLY)
    )
    assert not bad, f"{path.relative_to(ROOT)} imports {bad}: test support stays in tests/"


def test_no_product_module_is_over_500_lines() -> None:
    long = [
        f"{p.relative_to(ROOT)} ({n} lines)"
        for folder in ("stadtruf", "ari_app", "agi", "benchmarks")
        for p in sorted((ROOT / folder).rglob("*.py"))
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    ]
    assert not long, "split along their seams: " + ", ".join(long)
