"""The Celery application; settings come from celeryconfig.py (and so from the environment)."""

from __future__ import annotations

from celery import Celery

app = Celery("ml_connector", include=["workers.tasks", "workers.maintenance", "workers.mapping", "workers.orders"])
app.config_from_object("celeryconfig")
