"""The accounting team's dashboard under /admin: tenants and grants, records and their problems, replay, mappings,
and bank accounts waiting for approval.

Nobody gets in without signing in (webhook_receiver/auth.py); without any user the dashboard does not exist
(404), it is never open. Every POST carries a form token: browsers send cookies (and cached Basic
credentials) with cross-site requests on their own, so being signed in alone does not prove intent.
Every change made here is audited with the name of the user who made it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import time
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.blueprints import BlueprintSetupState

import webhook_receiver.auth as auth
import webhook_receiver.names as names
from connector import views
from connector.config import KEY_FILE, Settings
from connector.errors import ConfigurationError, ConnectorError
from connector.mapping.reconcile import LABELS
from connector.store import audit, bank_changes, mappings, records, tenants, tokens
from connector.store.payments import payments_of
from connector.store.tenants import Tenant
from connector.sync import bank_approvals, outcomes, reconcile, reminders
from connector.sync.budget import HEADERS, budget_report
from connector.sync.services import Services
from webhook_receiver.context import connector_services, enqueue

bp = Blueprint("dashboard", __name__, url_prefix="/admin", template_folder="templates")
log = logging.getLogger(__name__)


@bp.record_once
def _configure(state: BlueprintSetupState) -> None:
    """Sign the session cookie (it holds the CSRF token and flash messages) with a key derived from ours."""
    app = state.app
    if not app.secret_key:
        app.secret_key = session_key(app.extensions["connector"].settings)


def session_key(settings: Settings) -> str:
    """A key for Flask sessions derived from CONNECTOR_SECRET_KEY (or the embedded key file), never the key itself."""
    material = settings.secret_key or (settings.data_dir / KEY_FILE).read_text().strip()
    return hmac.new(material.encode(), b"ml-connector dashboard session", hashlib.sha256).hexdigest()


@bp.before_request
def _guard() -> Any:
    if not auth.is_enabled():
        abort(404)
    refused = auth.authenticate()
    if refused is not None:
        return refused
    if request.method == "POST":
        auth.require_csrf()
    return None


bp.after_request(auth.add_security_headers)


@bp.context_processor
def _template_helpers() -> dict[str, Any]:
    return {
        "csrf_token": auth.csrf_token,
        "user": auth.current_user,
        "when": views.when,
        "status_label": views.status_label,
        "views": views,
    }


def _user() -> str:
    return auth.current_user()


def tenant_or_404(name_or_id: str | int) -> Tenant:
    try:
        return tenants.get_tenant(connector_services().db, name_or_id)
    except ConfigurationError:
        abort(404, f"There is no tenant {name_or_id!r}.")


# --- overview ---------------------------------------------------------------------------------------------


@bp.get("/")
@bp.get("")
def overview() -> str:
    """Every tenant with its Exact connection, renewal countdown and record counts."""
    svc = connector_services()
    now = time.time()
    rows = [_tenant_row(svc, tenant, now) for tenant in tenants.list_tenants(svc.db)]
    totals = views.status_counts(records.count_by_status(svc.db))
    budgets = [division.row() for division in budget_report(svc, now)]
    return render_template("dashboard/overview.html", tenants=rows, totals=totals, budgets=budgets, headers=HEADERS)


def _tenant_row(svc: Services, tenant: Tenant, now: float) -> dict[str, Any]:
    """What the overview shows of one tenant: its public fields only, plus grant health and counts."""
    refreshed = tokens.token_health(svc.db, tenant.id)["refreshed_at"]
    refreshed_at = float(refreshed) if isinstance(refreshed, int | float) else None
    return {
        "info": tenant.public(),
        "grant": views.grant_text(tenant.grant_status, tenant.grant_reason),
        "refreshed_at": refreshed_at,
        "days_left": views.days_left(refreshed_at, now) if tenant.grant_status == "active" else None,
        "warning": reminders.warning(svc, tenant, now),
        "counts": views.status_counts(records.count_by_status(svc.db, tenant.id)),
    }


# --- records ----------------------------------------------------------------------------------------------


@bp.get("/records/<int:record_id>")
def record_detail(record_id: int) -> str:
    """One record: what it is, every problem per line, its audit trail and, when it can be, Replay."""
    svc = connector_services()
    record = _record_or_404(record_id)
    tenant = tenant_or_404(record.tenant_id)
    return render_template(
        "dashboard/record.html",
        record=record,
        tenant_name=tenant.name,
        problems=_named_problems(record.problems or [], names.for_tenant(svc.db, tenant, record.plan)),
        trail=audit.entries(svc.db, record_id=record.id),
        replayable=views.is_replayable(record.status),
        resolvable=record.status == "blocked" and bool(record.exact_id),
        payment=payments_of(svc.db, [(record.id, record.tenant_id, record.gross)]).get(record.id)
        if record.kind == "invoice" and record.status == "written"
        else None,
    )


def _named_problems(problems: list[dict[str, Any]], known: names.Names) -> list[dict[str, Any]]:
    """Problem rows with the Exact side's codes named: what it is mapped to, and the close matches."""
    rows = []
    for problem in problems:
        row, field = views.problem_row(problem), problem.get("field")
        row["mapped_code"] = known.label(field, row["mapped_code"])
        row["suggestions"] = [known.label(field, code) for code in row["suggestions"]]
        rows.append(row)
    return rows


def _record_or_404(record_id: int) -> records.Record:
    try:
        return records.get(connector_services().db, record_id)
    except LookupError:
        abort(404, f"There is no record {record_id}.")


@bp.post("/records/<int:record_id>/replay")
def replay(record_id: int) -> Any:
    """Make the record ready again and put its chain on the broker; back to the record with what happened."""
    svc = connector_services()
    record = _record_or_404(record_id)
    if not outcomes.resume(svc, record_id):  # a second click, or another person was quicker
        flash(f"Nothing to replay: record {record_id} is {views.status_label(record.status)}.", "error")
        return redirect(url_for(".record_detail", record_id=record_id), 303)
    audit.record(
        svc.db,
        tenant_id=record.tenant_id,
        record_id=record_id,
        step="replay",
        event="replay_requested",
        message=f"replay requested on the dashboard by {_user()}",
        detail={"user": _user()},
    )
    _enqueue(svc, record_id)
    return redirect(url_for(".record_detail", record_id=record_id), 303)


@bp.post("/records/<int:record_id>/resolve")
def resolve(record_id: int) -> Any:
    """A later version that Exact would not take was corrected there by hand: count it as written, tell Basware."""
    svc = connector_services()
    _record_or_404(record_id)
    note = " ".join(request.form.get("note", "").split())[:300]
    if not outcomes.accept_correction(svc, record_id, f"{note} (by {_user()} on the dashboard)".strip()):
        flash(f"Record {record_id} is not waiting for a correction in Exact.", "error")
        return redirect(url_for(".record_detail", record_id=record_id), 303)
    _enqueue(svc, record_id)
    return redirect(url_for(".record_detail", record_id=record_id), 303)


def _enqueue(svc: Services, record_id: int) -> None:
    try:
        enqueue(record_id)
    except Exception as exc:  # noqa: BLE001 - any broker failure: say so and keep the record replayable
        log.error("record=%s step=replay broker unavailable: %s", record_id, type(exc).__name__)
        # Mark it failed so the page says so at once; it can be replayed again later.
        outcomes.fail(svc, record_id, "replay", "the job queue could not be reached; replay again later")
        flash("The job queue could not be reached, so nothing was sent. Try Replay again in a few minutes.", "error")
        return
    flash(f"Record {record_id} was sent again. Reload this page in a moment to see the result.", "ok")


# --- month-end reconciliation ------------------------------------------------------------------------------


@bp.get("/tenants/<name>/reconcile")
def reconciliation(name: str) -> str:
    """Basware documents of a period against the Exact purchase journal (the previous month by default)."""
    svc, tenant = connector_services(), tenant_or_404(name)
    try:
        first, last = reconcile.period(request.args.get("from"), request.args.get("to"), date.today())
    except ConfigurationError as exc:
        abort(400, str(exc))
    try:
        report, error = reconcile.reconcile_period(svc, tenant, first, last), None
    except ConnectorError as exc:  # Exact unreachable or the grant dead: say so on the page
        report, error = None, str(exc)
    return render_template(
        "dashboard/reconcile.html", tenant_name=tenant.name, first=first, last=last, report=report, error=error,
        labels=LABELS,
    )  # fmt: skip


# --- mappings ---------------------------------------------------------------------------------------------


@bp.get("/tenants/<name>/mappings")
def mapping_table(name: str) -> str:
    """The tenant's mapping table and a form to add or change one mapping (prefilled from a problem's link)."""
    tenant = tenant_or_404(name)
    form = {key: request.args.get(key, "") for key in ("kind", "source", "target")}
    return _render_mappings(tenant, form, _back_to())


def _render_mappings(tenant: Tenant, form: dict[str, str], back_to: int | None, error: str | None = None) -> str:
    return render_template(
        "dashboard/mappings.html",
        tenant_name=tenant.name,
        entries=mappings.entries(connector_services().db, tenant.id),
        names=names.for_tenant(connector_services().db, tenant),
        kinds=mappings.MAPPING_KINDS,
        form=form,
        back_to=back_to,
        error=error,
    )


def _back_to() -> int | None:
    """The record to return to after a change (an id only, so the redirect can never leave the dashboard)."""
    value = request.values.get("record", "")
    return int(value) if value.isdigit() else None


@bp.post("/tenants/<name>/mappings")
def mapping_save(name: str) -> Any:
    """Add or change one mapping (origin `manual`), audit who did it, then back to the record or the table."""
    svc = connector_services()
    tenant = tenant_or_404(name)
    form = {key: request.form.get(key, "").strip() for key in ("kind", "source", "target")}
    back_to = _back_to()
    problem = views.mapping_problem(form["kind"], form["source"], form["target"])
    if problem is not None:
        return _render_mappings(tenant, form, back_to, error=problem), 400
    previous = mappings.lookup(svc.db, tenant.id, form["kind"], form["source"])
    mappings.put(svc.db, tenant.id, form["kind"], form["source"], form["target"], origin="manual")
    audit.record(
        svc.db,
        tenant_id=tenant.id,
        step="mappings",
        event="mapping_set",
        message=_mapping_message(form, previous),
        detail={**form, "previous": previous, "user": _user()},
    )
    flash(_mapping_message(form, previous) + ".", "ok")
    if back_to is not None:
        return redirect(url_for(".record_detail", record_id=back_to), 303)
    return redirect(url_for(".mapping_table", name=tenant.name), 303)


def _mapping_message(form: dict[str, str], previous: str | None) -> str:
    label = views.field_label(form["kind"])
    if previous is None or previous == form["target"]:
        change = "now maps to"
    else:
        change = f"changed from {previous} to"
    return f"{label} {form['source']} {change} {form['target']} (set on the dashboard by {_user()})"


# --- bank accounts waiting for approval -------------------------------------------------------------------


@bp.get("/bank-accounts")
def bank_accounts() -> str:
    """Bank accounts Basware gives for existing Exact suppliers, waiting for a person to approve or reject."""
    svc = connector_services()
    names = {tenant.id: tenant.name for tenant in tenants.list_tenants(svc.db)}
    return render_template("dashboard/bank_accounts.html", changes=bank_changes.pending(svc.db), tenant_names=names)


@bp.post("/bank-accounts/<int:change_id>/<any(approve, reject):decision>")
def bank_account_decide(change_id: int, decision: str) -> Any:
    """Approve (write to Exact) or reject one bank account; the audit names the dashboard user."""
    decide = bank_approvals.approve if decision == "approve" else bank_approvals.reject
    try:
        flash(decide(connector_services(), change_id, f"{_user()} on the dashboard") + ".", "ok")
    except ConnectorError as exc:  # decided meanwhile, unknown, or Exact refused: nothing was changed
        flash(f"Bank account change {change_id}: {exc}", "error")
    return redirect(url_for(".bank_accounts"), 303)
