"""The Celery application; settings come from celeryconfig.py (and so from the environment)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init, worker_process_shutdown

from workers.context import close, services

TASK_MODULES = [
    "workers.tasks",
    "workers.maintenance",
    "workers.mapping",
    "workers.orders",
    "workers.exact_events",
    "workers.payments",
]
app = Celery("ml_connector", include=TASK_MODULES)
app.config_from_object("celeryconfig")
if str(app.conf.broker_url).startswith("filesystem"):
    from workers.filebroker import install

    install()  # a consumer never reads a message that is still being written
import workers.logs  # noqa: E402  - names on every line, JSON lines when asked

workers.logs.install_json_mode(app)
import workers.metrics  # noqa: E402, F401  - connects the metrics to Celery's signals


@worker_process_init.connect
def _build_services(**_kwargs: Any) -> None:
    """Build the process's Services at start: wrong settings or key fail it at once, with a clear message."""
    services()


@worker_process_shutdown.connect
def _close_services(**_kwargs: Any) -> None:
    """Release the process's database pool."""
    close()
