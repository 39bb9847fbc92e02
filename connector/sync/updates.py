"""A new version of a document that was already handled: never a second Exact document.

Unchanged: nothing happens (a purchase order is acknowledged again). Blocked before and changed now: the
record starts again with the new version. Written and changed: the kind decides (`DocumentKind.update`): an
invoice's open Exact entry is updated in place after the new version is checked again; what Exact will not
let us change blocks the record with the list of changes, for a person to correct in Exact. The audit keeps
both versions. The chain's report step then tells Basware the outcome of the new version.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connector.errors import FatalAPIError
from connector.exact.client import ExactClient
from connector.mapping.problems import Problem, as_dicts, listing, problem
from connector.store import audit, records
from connector.store.records import Record, Status, Step
from connector.sync import line_updates
from connector.sync.kinds import Change, DocumentKind
from connector.sync.line_updates import LineOp
from connector.sync.plan import Line, Plan
from connector.sync.services import Services
from connector.sync.validation import plan_document
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
            kind.unchanged(svc, record, document)
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


@dataclass(frozen=True)
class ExactDocument:
    """How one Exact document takes a later version: its lines as Exact holds them now, and the calls that
    change its header and lines (`add_line` None where Exact takes no new line on an existing document)."""

    lines: list[Line]
    put_header: Callable[[dict[str, Any]], None]
    put_line: Callable[[str, Mapping[str, Any]], None]
    delete_line: Callable[[str], None]
    add_line: Callable[[Mapping[str, Any]], str] | None = None
    no_new_lines: str = ""  # why lines cannot be added, for the block reason


def replan(svc: Services, kind: DocumentKind[Any], change: Change[Any], exact: ExactClient) -> list[Line] | None:
    """The new version's Exact lines, checked like a first version; None (the record blocked) when it cannot
    be posted."""
    tenant = svc.tenant(change.record.tenant_id)
    lines, problems, _journal = plan_document(svc, tenant, exact, kind, change.new)
    if problems:
        block(svc, change, "the changed version cannot be posted: " + listing(problems), problems)
        return None
    return lines


def update_in_place(
    svc: Services, kind: DocumentKind[Any], change: Change[Any], target: ExactDocument, lines: list[Line],
    header: dict[str, Any],
) -> None:  # fmt: skip
    """Make the Exact document the new version: the header by PUT without lines (only when it changed), then
    line by line. Every operation is kept on the record and in the audit as it lands, so a failure half-way
    leaves a record of what was done and a retry does only the rest; a refusal blocks with both."""
    record = change.record
    plan = Plan.load(record.plan)
    assert change.old is not None, "an update in place needs the version that was written"
    ids = plan.line_ids or line_updates.align(kind.line_keys(change.old), plan.lines, target.lines)
    if ids is None:
        block(svc, change, f"the {kind.exact_label}'s lines in Exact no longer match what was written; {BY_HAND}")
        return
    wanted = line_updates.plan(dict(zip(kind.line_keys(change.new), lines, strict=True)), ids, target.lines)
    if wanted.problem:
        block(svc, change, f"{wanted.problem}: {'; '.join(change.diff)}; {BY_HAND}")
        return
    if wanted.of("post") and target.add_line is None:
        block(svc, change, f"{target.no_new_lines}: {'; '.join(change.diff)}; {BY_HAND}")
        return
    done: list[str] = []
    try:
        if header:
            target.put_header(header)
            done.append("header changed")
        line_updates.apply(
            wanted.ops, lambda op: _send(target, op), lambda op, line_id: _kept(svc, record, ids, op, line_id, done)
        )
    except FatalAPIError as exc:
        so_far = "; ".join(done) or "nothing"
        block(svc, change, f"Exact refused the change ({exc}); done before that: {so_far}; {BY_HAND}")
        return
    _updated(svc, kind, change, plan.with_lines(lines).with_line_ids(ids), done)


BY_HAND = "correct it in Exact by hand, then mark the record corrected"


def _send(target: ExactDocument, op: LineOp) -> str | None:
    if op.action == "post":
        assert target.add_line is not None
        return target.add_line(op.fields)
    if op.action == "put":
        target.put_line(str(op.line_id), op.fields)
    elif op.action == "delete":
        target.delete_line(str(op.line_id))
    return op.line_id


def _kept(svc: Services, record: Record, ids: dict[str, str], op: LineOp, line_id: str | None, done: list[str]) -> None:
    """Remember one landed operation at once: the line ids on the record, the operation in the audit."""
    if op.action == "delete":
        ids.pop(op.key, None)
    elif line_id is not None:
        ids[op.key] = line_id
    stored = Plan.load(records.get(svc.db, record.id).plan).with_line_ids(ids)
    records.update(svc.db, record.id, plan=stored.dump())
    audit.of_record(
        svc.db, record, "update", f"line_{op.action}", op.text, {"line_id": line_id, "fields": dict(op.fields)}
    )
    done.append(op.text)


def _updated(svc: Services, kind: DocumentKind[Any], change: Change[Any], plan: Plan, done: list[str]) -> None:
    record = change.record
    summary = kind.summary(change.new)
    records.update(
        svc.db, record.id, document=change.document, written_document=change.document, plan=plan.dump(),
        gross=None if summary.gross is None else str(summary.gross), reported=None, status=Status.WRITTEN,
        reason=None, problems=None,
    )  # fmt: skip
    audit.of_record(
        svc.db,
        record,
        "update",
        f"{kind.event}_updated",
        f"{kind.exact_label} {record.exact_number} updated in Exact: " + "; ".join(change.diff),
        {
            "before": record.written_document or record.document,
            "after": change.document,
            "changes": change.diff,
            "operations": done,
        },
    )
