"""The worker's and beat's log lines: tenant, record and step on each, and JSON lines when
CONNECTOR_LOG_FORMAT=json, Celery's own lines included.

In JSON mode nothing else may reach the output: Celery's start-up banners are switched off (the same facts
arrive as log lines: "Connected to …", "ready."), and warnings Python raises before Celery sets up logging
(running as root, for one) become JSON log lines through a handler put on the root logger first.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import celery.apps.worker
from celery.signals import after_setup_logger, after_setup_task_logger, celeryd_init

from connector.logcontext import JsonFormatter, install, wants_json


@after_setup_logger.connect
@after_setup_task_logger.connect
def _name_every_line(logger: Any, **_kwargs: Any) -> None:
    """Worker and beat log lines say which tenant, record and step they are about."""
    install(logger)


@celeryd_init.connect
def _quiet_worker(instance: Any = None, **_kwargs: Any) -> None:
    """JSON mode: no banner, and JSON from the very first line (before Celery configures logging)."""
    if not wants_json():
        return
    if instance is not None:
        instance.quiet = True
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    logging.captureWarnings(True)


def _quiet_beat(app: Any) -> None:
    """JSON mode: beat starts without its banner (`celery beat` has no setting for that but --quiet)."""
    base = app.Beat

    class QuietBeat(base):  # type: ignore[misc, valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["quiet"] = True
            super().__init__(*args, **kwargs)

    app.Beat = QuietBeat


def say_json(message: str, file: Any = None) -> None:
    """Celery's signal-handler messages ("worker: Warm shutdown") as a JSON line; printed, not logged,
    because logging takes locks a signal handler must not wait on (the reason Celery prints them)."""
    record = logging.LogRecord("celery.apps.worker", logging.WARNING, __file__, 0, message, None, None)
    print(JsonFormatter().format(record), file=file or sys.__stdout__, flush=True)


def install_json_mode(app: Any) -> None:
    """In JSON mode, keep Celery's banners and signal messages off the output of `app`'s worker and beat."""
    if wants_json():
        _quiet_beat(app)
        celery.apps.worker.safe_say = say_json
