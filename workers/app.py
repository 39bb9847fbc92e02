"""The Celery application; settings come from celeryconfig.py (and so from the environment)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_process_init

app = Celery("ml_connector", include=["workers.tasks", "workers.maintenance", "workers.mapping", "workers.orders"])
app.config_from_object("celeryconfig")
import workers.logs  # noqa: E402, F401  - names on every line, JSON lines when asked
import workers.metrics  # noqa: E402, F401  - connects the metrics to Celery's signals


@worker_process_init.connect
def _check_settings(**_kwargs: Any) -> None:
    """Fail a worker process at start, with a clear message, when its settings or key are wrong."""
    from connector.sync.services import services

    services()
