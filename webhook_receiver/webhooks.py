"""POST /webhooks/basware/<tenant>: verify, record (committed), answer. Nothing is parsed before it is verified."""

from __future__ import annotations

import logging
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from marshmallow import ValidationError

from connector import jsonutil
from connector.basware.schemas import load_notification
from connector.basware.signature import verify
from connector.errors import ConfigurationError, SignatureError, StorageUnavailable
from connector.store import inbox
from connector.store.group_commit import GroupCommit
from connector.store.tenants import Tenant, WebhookKeys
from connector.sync.services import Services
from webhook_receiver.context import connector_services
from webhook_receiver.signature_log import log_rejection, note_connection_test

bp = Blueprint("webhooks", __name__)
UNVERIFIED = "signature missing or not valid"
log = logging.getLogger(__name__)


def _answer(code: int, **body: Any) -> Any:
    if code < 300:
        g.outcome = "test" if body.get("status") == "ok" else body.get("status")
    return jsonify(body), code


@bp.post("/webhooks/basware/<tenant_name>")
def receive(tenant_name: str) -> Any:
    """Accept one Basware notification (202), a duplicate (200) or refuse it with a reason.

    Long on purpose: one guard per way a request can fail (size, tenant, signature, JSON, storage), in the order the
    answer depends on, each ending in the answer Basware gets; split up, the order would be hidden across helpers.
    """
    svc = connector_services()
    body = read_body(svc.settings.max_body_bytes)  # the raw bytes: the signature is over exactly these
    if body is None:
        return _answer(413, error=f"request body larger than {svc.settings.max_body_bytes} bytes")
    try:
        tenant = _verified_tenant(svc, tenant_name, body)
    except StorageUnavailable:
        return _answer(503, error="temporarily unable to record events; retry later")
    except ConfigurationError:
        log.error("tenant=%s step=receive cannot decrypt the webhook secret", tenant_name)
        return _answer(503, error="receiver misconfigured; retry later")
    if tenant is None:
        return _answer(401, error=UNVERIFIED)
    try:
        text = body.decode("utf-8")
        notification = load_notification(jsonutil.loads(text))
    except UnicodeDecodeError:
        return _answer(400, error="the body is not UTF-8 encoded JSON")
    except RecursionError:
        return _answer(400, error="malformed JSON: nested too deeply")
    except ValueError as exc:
        return _answer(400, error=f"malformed JSON: {exc}")
    except ValidationError as exc:
        return _answer(400, error=f"invalid notification: {exc.messages}")
    if notification.is_connection_test:
        note_connection_test(svc, tenant, request.headers.items())
        return _answer(200, status="ok")
    try:
        accepted = _group_commit(svc).record(
            inbox.Notification(tenant.id, notification.task_id, notification.task_type, notification.document_id, text)
        )
    except StorageUnavailable:
        return _answer(503, error="temporarily unable to record events; retry later")
    if accepted.duplicate:
        return _answer(200, status="duplicate", record_id=accepted.record_id)
    if accepted.record_id is None:
        return _answer(202, status="recorded", detail=f"task type {notification.task_type} is not processed")
    # Committed: the workers' dispatcher (workers.dispatcher) puts the record's chain on the broker. The
    # request does not wait for the broker, and a broker that is down costs Basware nothing.
    return _answer(202, status="accepted", record_id=accepted.record_id)


def read_body(limit: int) -> bytes | None:
    """The raw body, or None when it is larger than `limit` bytes, with or without a Content-Length.

    Flask's MAX_CONTENT_LENGTH quietly cuts a chunked body (no Content-Length) at the limit, so a too-large
    notification used to fail its signature or, worse, parse; here it is refused whole with 413.
    """
    if request.content_length is not None:
        return None if request.content_length > limit else request.get_data(cache=True)
    stream = request.environ.get("wsgi.input")
    if stream is None or not request.environ.get("wsgi.input_terminated"):
        return b""  # no length and no terminated stream: WSGI gives no safe way to read a body
    data = stream.read(limit + 1)
    return None if len(data) > limit else data


def _verified_tenant(svc: Services, tenant_name: str, body: bytes) -> Tenant | None:
    """The tenant whose secret signed `body`, or None (logged) for a bad signature or an unknown tenant."""
    keys = _webhook_keys(svc)
    signature = request.headers.get(svc.settings.signature_header)
    found = keys.cached(tenant_name)
    if found is not None:
        try:
            _verify(found[1], body, signature)
            return found[0]
        except SignatureError:
            found = keys.fresh(tenant_name)  # a refusal is decided on what is stored now, not on the cache
    if found is None:
        # Answered like a bad signature, so the URL space tells an outsider nothing about who is a customer.
        log.warning("step=receive rejected: no tenant by the name in the URL")
        g.refusal = "unknown_tenant"  # for the metrics only; the answer is a bad signature's
        return None
    tenant, secrets = found
    try:
        _verify(secrets, body, signature)
        return tenant
    except SignatureError as exc:
        if secrets:  # the log explains (header names, encodings tried); the answer does not
            log_rejection(svc, tenant_name, secrets[0], body, request.headers.items())
        else:
            log.warning("tenant=%s step=receive rejected: %s", tenant_name, exc)
        return None


def _group_commit(svc: Services) -> GroupCommit:
    """This app's group commit (one committer thread per process)."""
    group: GroupCommit | None = current_app.extensions.get("connector.group_commit")
    if group is None:
        group = current_app.extensions.setdefault("connector.group_commit", GroupCommit(svc.db))
    return group


def _webhook_keys(svc: Services) -> WebhookKeys:
    """This process's cache of tenants and their webhook secrets (one per app)."""
    keys: WebhookKeys | None = current_app.extensions.get("connector.webhook_keys")
    if keys is None:
        keys = current_app.extensions.setdefault("connector.webhook_keys", WebhookKeys(svc.db, svc.box))
    return keys


def _verify(secrets: list[str], body: bytes, header_value: str | None) -> None:
    """Accept a signature made with any of the tenant's valid secrets (two during a rotation)."""
    if not secrets:
        raise SignatureError("the tenant has no webhook secret strong enough to verify with; set a new one")
    failure = SignatureError("signature does not match")
    for secret in secrets:
        try:
            verify(secret, body, header_value)
            return
        except SignatureError as exc:
            failure = exc
    raise failure
