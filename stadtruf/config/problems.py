"""What `load` reports instead of a config: problems an admin can act on, with a place."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong in the configuration, at `file:line:col` (1-based, as editors count)."""

    file: Path
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: {self.message}"


class ConfigError(Exception):
    """The configuration cannot be used; `.problems` lists every reason found, sorted."""

    def __init__(self, problems: Iterable[Problem], *more: Iterable[Problem]) -> None:
        """Each group of problems sorted; `more` groups follow in the order given (e.g. the
        files' own problems before the references between them)."""
        self.problems = [p for group in (problems, *more) for p in sorted(group)]
        super().__init__("\n".join(str(p) for p in self.problems))
