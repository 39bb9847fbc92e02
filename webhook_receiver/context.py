"""What a request handler reaches through the app: the connector's services and the enqueue callable."""

from __future__ import annotations

from collections.abc import Callable

from flask import current_app

from connector.sync.services import Services


def connector_services() -> Services:
    """The Services the app was created with."""
    svc: Services = current_app.extensions["connector"]
    return svc


def enqueue(record_id: int) -> None:
    """Put a record's chain on the broker (raises when the broker is unreachable)."""
    publish: Callable[[int], None] = current_app.extensions["connector.enqueue"]
    publish(record_id)
