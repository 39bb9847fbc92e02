"""The webhook receiver: `gunicorn 'webhook_receiver:create_app()'` or `ml-connector receiver`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from connector.sync.services import Services
from connector.wiring import build_services
from webhook_receiver import (
    auth,
    dashboard,
    dashboard_records,  # noqa: F401 - adds the record list's routes to dashboard.bp
    exact_webhooks,
    health,
    metrics,
    webhooks,
)


def create_app(
    svc: Services | None = None,
    enqueue: Callable[[int], None] | None = None,
    enqueue_exact_event: Callable[[int], None] | None = None,
) -> Flask:
    """The Flask app; without `svc` it builds its own Services from the environment. `enqueue` starts a record's
    chain from the dashboard (Replay; default: the Celery chain); notifications are never published from a
    request (the workers' dispatcher does that). Gunicorn calls this in each worker process, so no pool crosses
    a fork."""
    app = Flask(__name__)
    app.extensions["connector"] = svc or build_services()
    if enqueue is None:
        from workers.tasks import start_chain

        enqueue = start_chain
    app.extensions["connector.enqueue"] = enqueue
    if enqueue_exact_event is None:
        from workers.exact_events import enqueue_exact_event
    app.extensions["connector.enqueue_exact_event"] = enqueue_exact_event
    app.config["MAX_CONTENT_LENGTH"] = app.extensions["connector"].settings.max_body_bytes
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(exact_webhooks.bp)
    app.register_blueprint(health.bp)
    if app.extensions["connector"].settings.trusted_proxies:
        count = app.extensions["connector"].settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)  # type: ignore[method-assign]
    auth.init_app(app)
    app.register_blueprint(auth.bp)  # /admin/sign-in, /admin/sign-out
    app.register_blueprint(dashboard.bp)  # /admin; 404 until it has a user (admin add-user, CONNECTOR_ADMIN_USER)
    metrics.init_app(app)  # /metrics, signed in like the dashboard

    @app.errorhandler(413)
    def too_large(_error: Any) -> Any:
        return jsonify(error="request body too large"), 413

    return app
