"""Every log line written while a step runs names the tenant, the record and the step (design promise 8).

With CONNECTOR_LOG_FORMAT=json every line is one JSON object instead, for log collectors: time, level,
logger, process, message, and tenant / record / step wherever they are known (the step's context, the
`extra` of the call, or `tenant=… record=… step=…` written in the message itself).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

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


NAMES = ("tenant", "record", "step")
_IN_MESSAGE = re.compile(r"(?:^|\s)(tenant|record|step)=([^\s,;]+)")
_UNKNOWN = ("None", "?", "-", "")


def wants_json(env: dict[str, str] | None = None) -> bool:
    """True when CONNECTOR_LOG_FORMAT asks for JSON lines."""
    return (os.environ if env is None else env).get("CONNECTOR_LOG_FORMAT", "").strip().lower() == "json"


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the tenant, record and step wherever they are known."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "process": record.processName,
            "pid": record.process,
            "message": message,
        }
        line.update(names_of(record, message))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str, ensure_ascii=False)


def names_of(record: logging.LogRecord, message: str) -> dict[str, str]:
    """tenant / record / step for a log record: the step's context first, then `extra`, then the message."""
    found = {key: value for key, value in _IN_MESSAGE.findall(message) if value not in _UNKNOWN}
    for key in NAMES:
        extra = getattr(record, key, None)
        if extra is not None and str(extra) not in _UNKNOWN:
            found[key] = str(extra)
    found.update({key: str(value) for key, value in _context.get() if key in NAMES})
    return {key: found[key] for key in NAMES if key in found}


def install(logger: logging.Logger, fmt: str = FORMAT, *, json_lines: bool | None = None) -> None:
    """Make every handler of `logger` write the names (the worker's and beat's logs); JSON lines when asked."""
    as_json = wants_json() if json_lines is None else json_lines
    for handler in logger.handlers:
        handler.addFilter(ContextFilter())
        handler.setFormatter(JsonFormatter() if as_json else logging.Formatter(fmt))


def json_logging_config(level: str = "INFO") -> dict[str, Any]:
    """A logging.config dict sending every logger (gunicorn's own included) to stderr as JSON lines."""
    handler = {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"json": handler},
        "root": {"level": level, "handlers": ["json"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["json"], "propagate": False},
            "gunicorn.access": {"level": level, "handlers": ["json"], "propagate": False},
        },
    }
