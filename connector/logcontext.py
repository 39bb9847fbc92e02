"""Every log line written while a step runs names the tenant, the record and the step (design promise 8)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_context: ContextVar[tuple[tuple[str, object], ...]] = ContextVar("connector_log_context", default=())

FORMAT = "[%(asctime)s: %(levelname)s/%(processName)s] [%(context)s] %(message)s"


@contextmanager
def log_context(**values: object) -> Iterator[None]:
    """Add names (tenant=, record=, step=) to every log line written inside the block."""
    token = _context.set(_context.get() + tuple(values.items()))
    try:
        yield
    finally:
        _context.reset(token)


def current() -> str:
    """The names in force, as `tenant=1 record=42 step=write`, or '-' outside any step."""
    return " ".join(f"{key}={value}" for key, value in _context.get()) or "-"


class ContextFilter(logging.Filter):
    """Puts the current names on each log record as `%(context)s`."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.context = current()
        return True


def install(logger: logging.Logger, fmt: str = FORMAT) -> None:
    """Make every handler of `logger` write the names (used for the worker's and the receiver's logs)."""
    for handler in logger.handlers:
        handler.addFilter(ContextFilter())
        handler.setFormatter(logging.Formatter(fmt))
