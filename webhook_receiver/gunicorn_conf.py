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


# Slow clients cannot stall intake. Sync workers give each connection a whole process, so two idle
# connections stalled both. gthread workers park idle connections in a poller and give a thread only to one
# that sends data; a client that sends half a request and stops (slowloris) still holds its thread, so each
# worker has many (threads are cheap while they wait). Past that, a buffering reverse proxy in front (nginx,
# a cloud load balancer) is the defence: the README says so.
worker_class = "gthread"
threads = 128
keepalive = 5  # seconds an idle keep-alive connection is kept
timeout = 30  # a worker silent this long is restarted
graceful_timeout = 30
