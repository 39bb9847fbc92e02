"""The worker's Prometheus metrics: each step's runs and durations, retries, and every call to Exact and Basware.

Celery's prefork pool runs tasks in child processes, so counters are kept in prometheus_client's multiprocess
files (PROMETHEUS_MULTIPROC_DIR, emptied when the worker starts) and the main process serves them all on
CONNECTOR_WORKER_METRICS_PORT. Without the folder the numbers of one process only would be served, which
would lie, so then the worker serves nothing and says why. Connected through Celery's signals: the tasks
themselves know nothing of metrics.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from celery.signals import task_postrun, task_prerun, task_retry, worker_init
from prometheus_client import CollectorRegistry, Counter, Histogram, multiprocess, start_http_server

from connector import metrics
from connector.config import load_settings

log = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

STEP_SECONDS = Histogram(
    "ml_connector_step_duration_seconds",
    "How long one run of a step (a Celery task) took, by step.",
    ["step"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
STEP_RUNS = Counter("ml_connector_step_runs_total", "Runs of each step, by how they ended.", ["step", "outcome"])
RETRIES = Counter("ml_connector_step_retries_total", "Retries scheduled, by step.", ["step"])
API_CALLS = Counter(
    "ml_connector_api_calls_total",
    "HTTP calls to Exact Online and Basware, by system, endpoint, method and status (error: no answer).",
    ["system", "endpoint", "method", "status"],
)
API_SECONDS = Histogram(
    "ml_connector_api_call_duration_seconds", "How long calls to Exact and Basware took.", ["system"]
)
RATE_LIMITED = Counter("ml_connector_api_rate_limited_total", "Calls answered 429 Too Many Requests.", ["system"])

_started: dict[str, float] = {}


def _step(task: Any) -> str:
    return str(getattr(task, "name", "?")).removeprefix("connector.")


@task_prerun.connect
def _task_started(task_id: str, **_kwargs: Any) -> None:
    _started[task_id] = time.monotonic()


@task_postrun.connect
def _task_ended(task_id: str, task: Any, state: str | None = None, **_kwargs: Any) -> None:
    started = _started.pop(task_id, None)
    step = _step(task)
    if started is not None:
        STEP_SECONDS.labels(step=step).observe(time.monotonic() - started)
    STEP_RUNS.labels(step=step, outcome=(state or "unknown").lower()).inc()


@task_retry.connect
def _task_retried(sender: Any = None, **_kwargs: Any) -> None:
    RETRIES.labels(step=_step(sender)).inc()


def count_call(call: metrics.Call) -> None:
    """Count one call to Exact or Basware (the observer the clients report to)."""
    status = "error" if call.status is None else str(call.status)
    API_CALLS.labels(system=call.system, endpoint=call.endpoint, method=call.method, status=status).inc()
    API_SECONDS.labels(system=call.system).observe(call.seconds)
    if call.status == 429:
        RATE_LIMITED.labels(system=call.system).inc()


metrics.add_observer(count_call)


@worker_init.connect
def _serve(**_kwargs: Any) -> None:
    """In the worker's main process, before the pool starts: empty the folder, then serve every process's numbers."""
    settings = load_settings()
    if not settings.worker_metrics_port:
        return
    folder = os.environ.get(MULTIPROC_ENV)
    if not folder:
        log.warning("worker metrics are off: set %s so the pool's processes can share their numbers", MULTIPROC_ENV)
        return
    empty(Path(folder))
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    start_http_server(settings.worker_metrics_port, addr=settings.worker_metrics_address, registry=registry)
    log.info("worker metrics on %s:%s/metrics", settings.worker_metrics_address, settings.worker_metrics_port)


def empty(folder: Path) -> None:
    """Start from nothing: files left by the processes of an earlier run would count again."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
