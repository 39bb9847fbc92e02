"""The Celery application; settings come from celeryconfig.py (and so from the environment)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import after_setup_logger, after_setup_task_logger, worker_process_init, worker_process_shutdown

from connector.logcontext import install
from workers.context import close, services

TASK_MODULES = ["workers.tasks", "workers.maintenance", "workers.mapping", "workers.orders", "workers.payments"]
app = Celery("ml_connector", include=TASK_MODULES)
app.config_from_object("celeryconfig")


@worker_process_init.connect
def _build_services(**_kwargs: Any) -> None:
    """Build the process's Services at start: wrong settings or key fail it at once, with a clear message."""
    services()


@worker_process_shutdown.connect
def _close_services(**_kwargs: Any) -> None:
    """Release the process's database pool."""
    close()


@after_setup_logger.connect
@after_setup_task_logger.connect
def _name_every_line(logger: Any, **_kwargs: Any) -> None:
    """Worker log lines say which tenant, record and step they are about."""
    install(logger)
