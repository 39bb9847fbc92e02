"""Liveness and readiness for load balancers and docker-compose health checks."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify

from connector.errors import StorageUnavailable

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    """The process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Any:
    """The database answers, so events can be recorded."""
    svc = current_app.extensions["connector"]
    try:
        with svc.db.begin() as conn:
            conn.execute(sa.text("SELECT 1"))
    except StorageUnavailable as exc:
        return jsonify(status="unavailable", reason=str(exc)), 503
    return jsonify(status="ready")
