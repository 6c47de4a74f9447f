"""Read one YAML file into plain data while keeping each node's position for error messages.

We compose (not load) so that every value keeps its `file:line:col`, and we turn scalars into
their *source text* rather than YAML 1.1 types: `02041700` unquoted would otherwise become the
octal integer 545728 and `yes` a boolean. Pydantic's lax mode turns `"5"` into 5 where a number
is wanted, so nothing is lost.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stadtruf.config.problems import Problem

_NULL_TAG = "tag:yaml.org,2002:null"


@dataclass(frozen=True)
class Source:
    """A parsed file: its data and the node tree to find positions in."""

    path: Path
    data: Any
    root: yaml.Node

    def problem(self, loc: Sequence[str | int], message: str, *, key: bool = False) -> Problem:
        """A problem at the node `loc` leads to (see `locate`)."""
        mark = locate(self.root, loc, key=key).start_mark
        return Problem(self.path, mark.line + 1, mark.column + 1, message)


def read(path: Path) -> tuple[Source | None, list[Problem]]:
    """Parse `path`; on failure no Source, and the problems say where and why."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(path, 1, 1, f"Datei ist nicht UTF-8-kodiert ({exc.reason})")]
    except OSError as exc:
        return None, [Problem(path, 1, 1, f"Datei nicht lesbar: {exc.strerror}")]
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        return None, [_syntax_problem(path, text, exc)]
    except yaml.YAMLError as exc:  # pragma: no cover - every parser error carries a mark
        return None, [Problem(path, 1, 1, f"YAML-Fehler: {exc}")]
    if root is None:
        return None, [Problem(path, 1, 1, "Datei ist leer")]
    problems: list[Problem] = []
    data = _to_data(path, root, problems)
    return Source(path, data, root), problems


def _syntax_problem(path: Path, text: str, exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = f"YAML-Syntaxfehler: {exc.problem or exc.context or 'unbekannter Fehler'}"
    start = exc.context_mark
    if exc.context and start is not None and mark is not None and start.line != mark.line:
        # An unclosed bracket is noticed lines later; say where it was opened.
        message += f" ({exc.context}, begonnen in Zeile {start.line + 1})"
    lines = text.splitlines()
    source_line = lines[line - 1] if 0 < line <= len(lines) else ""
    if re.match(r"\s*[*&][^\w]", source_line):
        # `*: back` parses as an alias (`&` as an anchor); the admin meant the key.
        message += ' – Tasten * und # in Anführungszeichen schreiben: "*": back'
    return Problem(path, line, col, message)


def _to_data(path: Path, node: yaml.Node, problems: list[Problem]) -> Any:
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                mark = key_node.start_mark
                problems.append(
                    Problem(path, mark.line + 1, mark.column + 1, "Schlüssel muss ein Wort sein")
                )
                continue
            key = str(key_node.value)
            if key in result:
                mark = key_node.start_mark
                problems.append(
                    Problem(path, mark.line + 1, mark.column + 1, f"Schlüssel '{key}' doppelt")
                )
                continue
            result[key] = _to_data(path, value_node, problems)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_to_data(path, item, problems) for item in node.value]
    if node.tag == _NULL_TAG:
        return None
    return node.value


def locate(root: yaml.Node, loc: Sequence[str | int], *, key: bool = False) -> yaml.Node:
    """The deepest node that `loc` (a pydantic error location or our own path) leads to.

    Items that are not keys or indexes here (pydantic's union-member names, `[key]`) are
    skipped, so a location always lands on the nearest node the admin wrote. With `key`, the
    last mapping step stops at the key instead of its value (for "unknown key" messages).
    """
    node = root
    items = list(loc)
    for i, item in enumerate(items):
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if isinstance(key_node, yaml.ScalarNode) and str(key_node.value) == str(item):
                    last = i == len(items) - 1 or items[i + 1 :] == ["[key]"]
                    node = key_node if key and last else value_node
                    break
        elif isinstance(node, yaml.SequenceNode) and isinstance(item, int):
            if 0 <= item < len(node.value):
                node = node.value[item]
    return node
