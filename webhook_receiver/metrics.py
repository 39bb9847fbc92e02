"""GET /metrics on the receiver, in Prometheus text format, behind the dashboard's sign-in (HTTP Basic for
Prometheus, throttled like every sign-in): notifications received by outcome, and what the database says now
(records by tenant, kind and status; the oldest pending record's age; days left on each Exact grant; Exact's
budget left per division; events waiting for the broker).

Under gunicorn each worker process counts notifications in prometheus_client's multiprocess files
(PROMETHEUS_MULTIPROC_DIR, emptied by the gunicorn config at start) and any of them serves the sum. The
database figures are read at scrape time, once, whichever process answers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Flask, Response, abort, g, request
from prometheus_client import REGISTRY, CollectorRegistry, Counter, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

import webhook_receiver.auth as auth
from connector import views
from connector.store import gauges
from connector.sync.budget import budget_report
from connector.sync.services import Services
from webhook_receiver.context import connector_services

bp = Blueprint("metrics", __name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

NOTIFICATIONS = Counter(
    "ml_connector_notifications_total", "Basware notifications received, by what the receiver answered.", ["outcome"]
)
# What an answer means when its JSON does not say (refusals); 2xx answers carry their own `status`.
REFUSALS = {400: "malformed", 401: "bad_signature", 404: "unknown_tenant", 413: "too_large", 503: "unavailable"}


def init_app(app: Flask) -> None:
    """Count every answer to a notification, and serve /metrics."""
    app.after_request(_count_notification)
    app.register_blueprint(bp)


def _count_notification(response: Response) -> Response:
    if request.path.startswith("/webhooks/"):
        outcome = outcome_of(response)
        counter = _COUNTERS.get(outcome)
        if counter is None:
            counter = _COUNTERS.setdefault(outcome, NOTIFICATIONS.labels(outcome=outcome))
        counter.inc()
    return response


_COUNTERS: dict[str, Any] = {}  # one child per outcome: labels() on every request cost a lock and a look-up


def outcome_of(response: Response) -> str:
    """accepted, duplicate, recorded, test, or why it was refused."""
    if g.get("refusal"):
        return str(g.refusal)
    if g.get("outcome"):  # the receiver says what it answered; reading it back from the JSON cost more
        return str(g.outcome)
    if response.status_code in REFUSALS:
        return REFUSALS[response.status_code]
    body = response.get_json(silent=True) if response.is_json else None
    status = body.get("status") if isinstance(body, dict) else None
    if status == "ok":
        return "test"
    return str(status) if status in ("accepted", "duplicate", "recorded") else f"http_{response.status_code}"


@bp.get("/metrics")
def scrape() -> Any:
    """Every metric family, for Prometheus."""
    if not auth.is_enabled():
        abort(404)
    refused = auth.authenticate()
    if refused is not None:
        return refused
    text = generate_latest(_process_registry()) + generate_latest(_database_registry(connector_services()))
    return Response(text, 200, {"Cache-Control": "no-store"}, content_type=CONTENT_TYPE)


def _process_registry() -> Any:
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return registry


def _database_registry(svc: Services) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(DatabaseCollector(svc))
    return registry


class DatabaseCollector(Collector):
    """Gauges read from the database when scraped."""

    def __init__(self, svc: Services) -> None:
        self.svc, self.db = svc, svc.db

    def collect(self) -> Iterator[GaugeMetricFamily]:
        now = time.time()
        yield self._records()
        yield self._oldest_pending(now)
        yield from self._grants(now)
        yield self._budgets()
        yield self._inbox()

    def _records(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "ml_connector_records", "Records by tenant, kind and status.", labels=["tenant", "kind", "status"]
        )
        for tenant, kind, status, count in gauges.record_counts(self.db):
            family.add_metric([tenant, kind, status], count)
        return family

    def _oldest_pending(self, now: float) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "ml_connector_oldest_pending_record_age_seconds",
            "Age of the oldest record still pending, per tenant (absent when none is pending).",
            labels=["tenant"],
        )
        for tenant, created_at in gauges.oldest_pending(self.db).items():
            family.add_metric([tenant], max(0.0, now - created_at))
        return family

    def _grants(self, now: float) -> Iterator[GaugeMetricFamily]:
        days = GaugeMetricFamily(
            "ml_connector_exact_grant_days_left",
            "Whole days before the Exact grant's 30-day refresh window closes, per connected tenant.",
            labels=["tenant"],
        )
        connected = GaugeMetricFamily(
            "ml_connector_exact_grant_connected", "1 when the tenant's Exact grant works, else 0.", labels=["tenant"]
        )
        for grant in gauges.grants(self.db):
            connected.add_metric([grant.tenant], 1.0 if grant.status == "active" else 0.0)
            left = views.days_left(grant.refreshed_at, now) if grant.status == "active" else None
            if left is not None:
                days.add_metric([grant.tenant], left)
        yield days
        yield connected

    def _budgets(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "ml_connector_exact_budget_remaining",
            "Exact calls left in the window of each app and division, per tenant using it (minute or day).",
            labels=["tenant", "division", "window"],
        )
        for division in budget_report(self.svc):
            for tenant in division.tenants:
                family.add_metric([tenant, str(division.division), "minute"], division.budget.minute_left)
                family.add_metric([tenant, str(division.division), "day"], division.budget.day_left)
        return family

    def _inbox(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(
            "ml_connector_inbox_waiting_events",
            "Recorded notifications the workers' dispatcher has not yet handed to the broker.",
            labels=["tenant"],
        )
        for tenant, count in gauges.inbox_waiting(self.db).items():
            family.add_metric([tenant], count)
        return family
