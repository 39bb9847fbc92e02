"""The dashboard's record list for real volumes: filters and paging done in the database, and "replay all
blocked" for a filter, confirmed on a page that says how many records it will send again.

Routes join `dashboard.bp`, so they sit behind the same sign-in, form tokens and headers.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

import webhook_receiver.auth as auth
from connector.store import audit, records, tenants
from connector.sync import outcomes
from webhook_receiver.context import connector_services, enqueue
from webhook_receiver.dashboard import bp, tenant_or_404

log = logging.getLogger(__name__)
PER_PAGE = 50
FILTER_FIELDS = ("tenant", "status", "kind", "supplier", "q", "from", "to")
MAX_TEXT = 100
BATCH = 300  # records replayed per click: each takes a few writes and one publish; gunicorn's timeout is 30 s


def read_filter(values: MultiDict[str, str]) -> tuple[records.RecordFilter, dict[str, str]]:
    """The filter a request asks for, and its fields as typed (for the form); 400/404 for nonsense."""
    form = {name: values.get(name, "").strip()[:MAX_TEXT] for name in FILTER_FIELDS}
    if form["status"] and form["status"] not in records.STATUSES:
        abort(400, f"Unknown status {form['status']!r}.")
    if form["kind"] and form["kind"] not in records.KINDS:
        abort(400, f"Unknown kind {form['kind']!r}.")
    tenant = tenant_or_404(form["tenant"]) if form["tenant"] else None
    wanted = records.RecordFilter(
        tenant_id=tenant.id if tenant else None,
        status=form["status"] or None,
        kind=form["kind"] or None,
        supplier=form["supplier"] or None,
        reference=form["q"] or None,
        created_from=_day_start(form["from"], "from"),
        created_before=_day_start(form["to"], "to", next_day=True),
    )
    return wanted, form


def _day_start(text: str, name: str, *, next_day: bool = False) -> float | None:
    """Midnight UTC of a YYYY-MM-DD date (of the next day for an inclusive end), or None when empty."""
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        abort(400, f"The {name} date must look like 2024-03-31.")
    if next_day:
        day += timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()


def _page() -> int:
    value = request.args.get("page", "1")
    return max(1, int(value)) if value.isdigit() else 1


@bp.get("/records")
def record_list() -> str:
    """One page of records, those needing a person first, narrowed by the filters."""
    svc = connector_services()
    wanted, form = read_filter(request.args)
    page = _page()
    rows, total = records.search(svc.db, wanted, offset=(page - 1) * PER_PAGE, limit=PER_PAGE)
    blocked = total if wanted.status == "blocked" else _count_blocked(wanted)
    query = {name: value for name, value in form.items() if value}
    return render_template(
        "dashboard/records.html",
        rows=rows,
        total=total,
        page=page,
        pages=max(1, -(-total // PER_PAGE)),
        first=(page - 1) * PER_PAGE + 1,
        query=query,
        form=form,
        blocked=blocked,
        replay_url=url_for("dashboard.replay_blocked_confirm") + "?" + urlencode(query),
        statuses=records.STATUSES,
        kinds=records.KINDS,
        tenant_names=[t.name for t in tenants.list_tenants(svc.db)],
    )


def _count_blocked(wanted: records.RecordFilter) -> int:
    blocked = records.RecordFilter(**{**wanted.__dict__, "status": "blocked"})
    return records.search(connector_services().db, blocked, limit=1)[1]


def page_url(query: dict[str, str], page: int) -> str:
    """The list's URL for another page with the same filters."""
    return url_for("dashboard.record_list") + "?" + urlencode({**query, "page": page})


@bp.app_template_global()
def records_page_url(query: dict[str, str], page: int) -> str:
    """Templates' access to `page_url`."""
    return page_url(query, page)


@bp.get("/records/replay-blocked")
def replay_blocked_confirm() -> str:
    """Say how many blocked records the filter holds and ask before sending them all again."""
    wanted, form = read_filter(request.args)
    blocked = records.RecordFilter(**{**wanted.__dict__, "status": "blocked"})
    count = len(records.matching_ids(connector_services().db, blocked))
    return render_template(
        "dashboard/replay_blocked.html",
        count=count,
        batch=min(count, BATCH),
        form=form,
        cancel_url=_list_url(form, status="blocked"),
    )


@bp.post("/records/replay-blocked")
def replay_blocked() -> Any:
    """Replay every blocked record the filter holds (each audited with the user's name), then back to the list."""
    svc = connector_services()
    wanted, form = read_filter(request.form)
    blocked = records.RecordFilter(**{**wanted.__dict__, "status": "blocked"})
    sent, ids = 0, records.matching_ids(svc.db, blocked)
    for record_id in ids[:BATCH]:
        if not outcomes.resume(svc, record_id):
            continue  # replayed by someone else meanwhile
        _audit_replay(record_id)
        if not _enqueued(record_id):
            flash(f"The job queue could not be reached after {sent} record(s); replay the rest later.", "error")
            break
        sent += 1
    else:
        rest = f" {len(ids) - BATCH} more are waiting: replay all blocked again." if len(ids) > BATCH else ""
        flash(f"{sent} blocked record(s) were sent again. Reload in a moment to see the results.{rest}", "ok")
    return redirect(_list_url(form, status="blocked"), 303)


def _list_url(form: dict[str, str], **changes: str) -> str:
    query = {name: value for name, value in {**form, **changes}.items() if value}
    return url_for("dashboard.record_list") + ("?" + urlencode(query) if query else "")


def _audit_replay(record_id: int) -> None:
    record = records.get(connector_services().db, record_id)
    user = auth.current_user()
    audit.record(
        connector_services().db,
        tenant_id=record.tenant_id,
        record_id=record_id,
        step="replay",
        event="replay_requested",
        message=f"replay requested on the dashboard by {user} (replay all blocked)",
        detail={"user": user},
    )


def _enqueued(record_id: int) -> bool:
    try:
        enqueue(record_id)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the record stays replayable
        log.error("record=%s step=replay broker unavailable: %s", record_id, type(exc).__name__)
        outcomes.fail(connector_services(), record_id, "replay", "the job queue could not be reached; replay again")
        return False
    return True
