"""Basware push notifications: the bytes, the signature, and the one way to post them to a receiver."""

from __future__ import annotations

import uuid
from typing import Any

import requests

from connector import jsonutil
from connector.basware.signature import sign

WEBHOOK_SECRET = "test-webhook-secret-6c1f-0123456789abcdef"  # 32+ bytes, as the connector requires


def notification(
    document_id: str,
    task_id: str | None = None,
    task_type: str = "AccountingDocuments",
    sub_type: str = "WaitingForTransfer",
) -> bytes:
    """The bytes of a Basware push notification."""
    payload: dict[str, Any] = {
        "taskId": task_id or str(uuid.uuid4()),
        "taskStatus": "New",
        "taskType": task_type,
        "taskSubType": sub_type,
        "documentId": document_id,
    }
    return jsonutil.dumps(payload).encode()


def signed_headers(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    """The headers Basware sends with a body signed by the tenant's webhook secret."""
    return {"Content-Type": "application/json", "X-BW-Signature": sign(secret, body)}


def post_to(url: str, name: str, body: bytes, headers: dict[str, str], timeout: float = 30) -> requests.Response:
    """POST a body to the tenant's webhook URL on the receiver at `url`."""
    return requests.post(f"{url}/webhooks/basware/{name}", data=body, headers=headers, timeout=timeout)


def post_signed(
    url: str, name: str, body: bytes, secret: str = WEBHOOK_SECRET, timeout: float = 30
) -> requests.Response:
    """POST a body signed with the tenant's secret, as Basware does."""
    return post_to(url, name, body, signed_headers(body, secret), timeout)
