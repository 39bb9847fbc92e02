"""gunicorn settings for the receiver (`gunicorn --config python:webhook_receiver.gunicorn_conf …`).

Metrics in a multi-process server: empty PROMETHEUS_MULTIPROC_DIR when the master starts (files of an
earlier run would be counted again), and retire a dead worker's files. Logs: with CONNECTOR_LOG_FORMAT=json,
gunicorn's own lines and the app's go to stderr as one JSON object each.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from connector.logcontext import json_logging_config, wants_json

if wants_json():
    logconfig_dict = json_logging_config()


def on_starting(_server: Any) -> None:
    """Before any worker forks: an empty folder for the workers' metric files."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True)


def child_exit(_server: Any, worker: Any) -> None:
    """A worker is gone: its live gauges no longer count (its counters still do)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
