"""What the receiver logs so an operator can find the header Basware signs with: names and shapes, never values.

Basware does not publish its push-signature scheme (docs/api-facts.md#basware-push-notifications). Both lines
are written at WARNING because the receiver configures no logging of its own: under gunicorn only warnings
reach stderr, and these are the lines an operator setting up a subscription needs to see.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from connector.basware.signature import diagnose
from connector.errors import StorageUnavailable
from connector.store import state
from connector.store.tenants import Tenant
from connector.sync.services import Services

log = logging.getLogger(__name__)

SEEN_HEADERS = "connection_test_headers"  # tenant_state: the header names of the last ConnectionTest logged


def log_rejection(
    svc: Services, tenant_name: str, secret: str, body: bytes, headers: Iterable[tuple[str, str]]
) -> None:
    """Log why a signature failed: header names present, encodings tried, and a header that would verify."""
    diagnosis = diagnose(secret, body, dict(headers), svc.settings.signature_header)
    log.warning("tenant=%s step=receive rejected: %s", tenant_name, diagnosis.describe())


def note_connection_test(svc: Services, tenant: Tenant, headers: Iterable[tuple[str, str]]) -> None:
    """Log the header names of a tenant's first ConnectionTest, and again only if a later one carries others."""
    names = ", ".join(sorted({name for name, _ in headers}, key=str.lower))
    try:
        if state.get(svc.db, tenant.id, SEEN_HEADERS) == names:
            return
        state.put(svc.db, tenant.id, SEEN_HEADERS, names)
    except StorageUnavailable:
        pass  # logging it twice is better than failing Basware's connection test
    log.warning(
        "tenant=%s step=receive ConnectionTest verified with header %s; it carried (names only): %s",
        tenant.name,
        svc.settings.signature_header,
        names,
    )
