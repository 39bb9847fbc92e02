"""A new version of a document that was already handled: never a second Exact document.

Unchanged: nothing happens (a purchase order is acknowledged again). Blocked before and changed now: the
record starts again with the new version. Written and changed: the kind decides (`DocumentKind.update`): an
invoice's open Exact entry is updated in place after the new version is checked again; what Exact will not
let us change blocks the record with the list of changes, for a person to correct in Exact. The audit keeps
both versions. The chain's report step then tells Basware the outcome of the new version.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connector.mapping.problems import Problem, as_dicts, problem
from connector.store import audit, records
from connector.store.records import Record, Status, Step
from connector.sync.kinds import Change, DocumentKind
from connector.sync.services import Services
from connector.sync.writing import record_lease


def check_update(svc: Services, record_id: int, kind: DocumentKind[Any]) -> None:
    """Compare Basware's current version with what was handled, and act on the difference.

    Under the record's lease, like every write: two deliveries of one new version update Exact and tell
    Basware once; the second finds the version already handled.
    """
    with record_lease(svc, record_id, "updating"):
        record = records.get(svc.db, record_id)
        if record.status in (Status.WRITTEN, Status.BLOCKED):
            _check(svc, record, kind)


def _check(svc: Services, record: Record, kind: DocumentKind[Any]) -> None:
    tenant = svc.tenant(record.tenant_id)
    basware = svc.basware(tenant)
    document = kind.download(basware, record.basware_id)
    baseline = record.written_document or record.document
    old = kind.parse(baseline, tenant) if baseline else None
    new = kind.parse(document, tenant)
    diff = kind.changes(old, new) if old is not None else ["first version"]
    if not diff:
        if record.status == Status.WRITTEN:
            kind.unchanged(svc, record)
        audit.of_record(svc.db, record, "update", "unchanged", "delivered again without changes: nothing to do")
        return
    kind.take(basware, record.basware_id)  # the new version is taken on in Basware, as at the first fetch
    change = Change(record, document, old, new, diff)
    if record.status == Status.BLOCKED and not record.exact_id:
        _restart(svc, kind, change)
    else:
        kind.update(svc, change)


def _restart(svc: Services, kind: DocumentKind[Any], change: Change[Any]) -> None:
    record = change.record
    records.update(
        svc.db,
        record.id,
        status=Status.PENDING,
        step=Step.FETCHED,
        document=change.document,
        plan=None,
        reason=None,
        problems=None,
        reported=None,
    )
    audit.of_record(
        svc.db,
        record,
        "update",
        "restarted",
        f"a changed version arrived for a blocked {kind.label}; processing it again: " + "; ".join(change.diff),
        {"before": record.document, "after": change.document, "changes": change.diff},
    )


def block(svc: Services, change: Change[Any], reason: str, problems: Sequence[Problem] = ()) -> None:
    """Block a record on a later version, with the changes as its problems unless others are given."""
    record = change.record
    found = list(problems) or [problem(None, "update", None, None, text) for text in change.diff]
    stored = as_dicts(found)
    records.update(
        svc.db, record.id, status=Status.BLOCKED, document=change.document, reason=reason, problems=stored,
        reported=None,
    )  # fmt: skip
    audit.of_record(
        svc.db,
        record,
        "update",
        "blocked",
        reason,
        {
            "before": record.written_document or record.document,
            "after": change.document,
            "changes": change.diff,
            "problems": stored,
        },
    )


def differences(
    old: Any, new: Any, header: Sequence[str], lines: tuple[Mapping[int, Any], Mapping[int, Any]], fields: Sequence[str]
) -> list[str]:
    """What differs between two versions, in words: the `header` attributes, then line by line (`lines` is
    (before, after), each by line number) the line `fields`, lines added and removed."""
    before, after = lines
    found = [
        f"{name.replace('_', ' ')} {getattr(old, name)} -> {getattr(new, name)}"
        for name in header
        if getattr(old, name) != getattr(new, name)
    ]
    for index in sorted(before.keys() | after.keys()):
        if index not in after:
            found.append(f"line {index} removed")
        elif index not in before:
            found.append(f"line {index} added")
        else:
            found.extend(
                f"line {index} {name.replace('_', ' ')} {getattr(before[index], name)} -> {getattr(after[index], name)}"
                for name in fields
                if getattr(before[index], name) != getattr(after[index], name)
            )
    return found
