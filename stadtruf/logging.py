"""structlog set-up: one JSON or console line per event, bound to the call.

Every line passes `redact`, which shortens callers' numbers to their area code
(`stadtruf.core.privacy`) unless the config says `privacy.log_numbers: full`. The setting
follows the config: `set_privacy` at start and after each reload.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, TextIO

import structlog

from stadtruf.core.privacy import LogNumbers, redact_numbers


@dataclass
class _Privacy:
    mode: LogNumbers = "area_code"
    area_codes: tuple[str, ...] = ()


# One per process, like structlog's own configuration; shortened until a config says otherwise.
_privacy = _Privacy()


def set_privacy(mode: LogNumbers, area_codes: Iterable[str] = ()) -> None:
    """How much of a caller's number log lines show from now on (config `privacy.log_numbers`);
    `area_codes`: the config's known area codes, so that ``0203…`` keeps the whole code."""
    _privacy.mode = mode
    _privacy.area_codes = tuple(area_codes)


def redact(
    _logger: object, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: callers' numbers shortened as `set_privacy` last said."""
    return redact_numbers(event, _privacy.mode, _privacy.area_codes)


def configure(*, json: bool = False, level: str = "INFO", file: TextIO | None = None) -> None:
    """Configure structlog once for the process.

    JSON lines go to stderr (or `file`) for machines (tests, log shippers); the console renderer
    is for a person watching `stadtruf serve`.
    """
    out = file if file is not None else sys.stderr
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(colors=out.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            redact,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )
