"""The Celery application; settings come from celeryconfig.py (and so from the environment)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_process_init

from connector.logcontext import install

app = Celery("ml_connector", include=["workers.tasks", "workers.maintenance", "workers.mapping", "workers.orders"])
app.config_from_object("celeryconfig")
import workers.metrics  # noqa: E402, F401  - connects the metrics to Celery's signals


@worker_process_init.connect
def _check_settings(**_kwargs: Any) -> None:
    """Fail a worker process at start, with a clear message, when its settings or key are wrong."""
    from connector.sync.services import services

    services()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _name_every_line(logger: Any, **_kwargs: Any) -> None:
    """Worker log lines say which tenant, record and step they are about."""
    install(logger)
