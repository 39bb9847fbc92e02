"""Push notifications of the Basware sandbox: subscriptions after a signed ConnectionTest, signed deliveries.

Sourced (docs/api-facts.md, Basware: push notifications): a webhook subscription is tested with a `ConnectionTest`
task first; notifications carry taskId, taskType, taskSubType, documentId and expirationTime and are signed with the
subscription's `webhookAuthenticationToken` in a configurable header. Decisions (ours): a subscription is kept only
when the test answers 200; a broadcast answers the worst HTTP status (0 when unreachable).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import requests
from flask import Response, request

from connector import jsonutil
from connector.basware.signature import DEFAULT_SIGNATURE_HEADER, sign
from connector.sandbox.basware.core import Core
from connector.sandbox.basware.wire import SandboxError, json_response

Subscription = dict[str, Any]


class Push:
    """Subscribers and every delivery made to them."""

    def __init__(self, core: Core, signature_header: str = DEFAULT_SIGNATURE_HEADER) -> None:
        self.core = core
        self.signature_header = signature_header
        self.deliveries: list[dict[str, Any]] = []
        self.subscriptions: list[Subscription] = []

    def subscribe(
        self,
        url: str,
        secret: str,
        task_type: str = "AccountingDocuments",
        header: str = DEFAULT_SIGNATURE_HEADER,
        *,
        task_sub_type: str = "All",
    ) -> dict[str, Any]:
        """Register a webhook after it answers 200 to a signed ConnectionTest (raises SandboxError if not)."""
        subscription = {
            "taskType": task_type,
            "taskSubType": task_sub_type or "All",
            "subscriptionType": "Webhook",
            "notificationWebhookURL": url,
            "webhookAuthenticationToken": secret,
            "header": header,
        }
        test = {"taskId": str(uuid.uuid4()), "taskType": "ConnectionTest", "taskStatus": "New"}
        status = self.deliver(subscription, jsonutil.dumps(test).encode("utf-8"), signed=True)
        if status != 200:
            raise SandboxError(f"ConnectionTest to {url} answered {status or 'nothing'}, expected 200")
        with self.core.lock:
            self.subscriptions.append(subscription)
        return _without_secret(subscription)

    def notify_task(
        self,
        task_type: str,
        sub_type: str,
        document_id: str,
        *,
        task_id: str | None = None,
        sent_type: str | None = None,
    ) -> int:
        """Send a signed notification about one document to the matching subscribers; the worst status."""
        expires = datetime.fromtimestamp(self.core.clock(), UTC) + timedelta(days=1)
        payload = {
            "taskId": task_id or str(uuid.uuid4()),
            "taskStatus": "New",
            "taskType": sent_type or task_type,
            "taskSubType": sub_type,
            "documentId": document_id,
            "expirationTime": expires.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        body = jsonutil.dumps(payload).encode("utf-8")
        return self.broadcast(task_type, sub_type, lambda sub: self.deliver(sub, body, signed=True))

    def notify_raw(self, body: bytes, headers: dict[str, str] | None = None) -> int:
        """POST exact bytes and headers (unsigned unless the headers sign them) to every subscriber."""
        return self.broadcast(None, None, lambda sub: self.deliver(sub, body, signed=False, headers=headers))

    def broadcast(self, task_type: str | None, sub_type: str | None, send: Callable[[Subscription], int]) -> int:
        """Send to every subscriber of the task type and sub type (all when None); the worst status."""
        with self.core.lock:
            targets = [
                sub
                for sub in self.subscriptions
                if task_type is None or (sub["taskType"] == task_type and sub["taskSubType"] in ("All", sub_type))
            ]
        if not targets:
            raise SandboxError(f"no subscription for {task_type or 'any task type'}")
        # Deliver without holding the lock: a receiver may call straight back into this sandbox.
        statuses = [send(sub) for sub in targets]
        failures = [status for status in statuses if not 200 <= status < 300]
        return failures[0] if failures else statuses[-1]

    def deliver(
        self, subscription: Subscription, body: bytes, *, signed: bool, headers: dict[str, str] | None = None
    ) -> int:
        """POST one notification; the HTTP status, or 0 when the receiver could not be reached."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if signed:
            sent[subscription["header"]] = sign(subscription["webhookAuthenticationToken"], body)
        url = subscription["notificationWebhookURL"]
        try:
            with requests.Session() as session:
                status = session.post(url, data=body, headers=sent, timeout=10).status_code
        except requests.RequestException:
            status = 0
        with self.core.lock:
            self.deliveries.append({"url": url, "body": body, "headers": sent, "status": status})
        return status

    def post_subscriptions(self) -> Response:
        """`POST /v1/subscriptions`: an array of webhook subscriptions, each tested before it is kept."""
        try:
            body = jsonutil.loads(request.get_data())
        except ValueError:
            body = None
        required = ("taskType", "subscriptionType", "notificationWebhookURL", "webhookAuthenticationToken")
        if not isinstance(body, list) or not all(isinstance(s, dict) and all(s.get(k) for k in required) for s in body):
            return _subscription_error(f"an array of subscriptions with {', '.join(required)} is required")
        created = []
        for sub in body:
            try:
                created.append(
                    self.subscribe(
                        sub["notificationWebhookURL"],
                        sub["webhookAuthenticationToken"],
                        sub["taskType"],
                        self.signature_header,
                        task_sub_type=sub.get("taskSubType") or "All",
                    )
                )
            except SandboxError as exc:
                return _subscription_error(str(exc))
        return json_response(created)

    def list_subscriptions(self) -> Response:
        """`GET /v1/subscriptions`, without the secrets."""
        with self.core.lock:
            public = [_without_secret(s) for s in self.subscriptions]
        return json_response({"subscriptions": public})


def _without_secret(subscription: Subscription) -> dict[str, Any]:
    return {key: value for key, value in subscription.items() if key != "webhookAuthenticationToken"}


def _subscription_error(message: str) -> Response:
    error = {"type": "VALIDATION", "code": "SCHEMA_VALIDATION_ERROR", "message": message}
    return json_response({"requestId": str(uuid.uuid4()), "hasError": True, "errorMessages": [error]}, 400)
