"""The audit trail: every step's outcome, per tenant and record, in words an accountant can read."""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa

from connector import jsonutil
from connector.store.db import Database, audit_log, row_dict

log = logging.getLogger("connector.audit")


def record(
    db: Database,
    *,
    step: str,
    event: str,
    message: str,
    tenant_id: int | None = None,
    record_id: int | None = None,
    detail: Any = None,
) -> None:
    """Append one audit row and log the same line with the tenant, record and step."""
    with db.begin() as conn:
        conn.execute(
            audit_log.insert().values(
                at=time.time(),
                tenant_id=tenant_id,
                record_id=record_id,
                step=step,
                event=event,
                message=message,
                detail=None if detail is None else jsonutil.dumps(detail),
            )
        )
    names = {"tenant": tenant_id, "record": record_id, "step": step}  # for JSON lines
    log.info("tenant=%s record=%s step=%s event=%s %s", tenant_id, record_id, step, event, message, extra=names)


def of_record(db: Database, subject: Any, step: str, event: str, message: str, detail: Any = None) -> None:
    """Append one audit row about a record (anything with `id` and `tenant_id`)."""
    record(
        db, step=step, event=event, message=message, tenant_id=subject.tenant_id, record_id=subject.id, detail=detail
    )


def entries(db: Database, *, tenant_id: int | None = None, record_id: int | None = None) -> list[dict[str, Any]]:
    """Audit rows, oldest first, with `detail` parsed."""
    query = sa.select(audit_log).order_by(audit_log.c.id)
    if tenant_id is not None:
        query = query.where(audit_log.c.tenant_id == tenant_id)
    if record_id is not None:
        query = query.where(audit_log.c.record_id == record_id)
    with db.begin() as conn:
        rows = [row_dict(row) for row in conn.execute(query)]
    for row in rows:
        row["detail"] = jsonutil.loads(row["detail"]) if row["detail"] else None
    return rows
