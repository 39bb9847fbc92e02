"""Month-end reconciliation end to end: records made by the real steps, entries in the Exact sandbox, the CLI.

One period holds every category: an invoice posted as it was, one whose entry was edited in Exact, one
blocked, one entered twice, an entry typed in by hand, and entries outside the period or journal that must
not show up at all.
"""

from __future__ import annotations

import csv
import dataclasses
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests

from connector import admin_users
from connector.errors import RecordBlocked
from connector.exact.client import ExactClient
from connector.sandbox.basware import make_invoice
from connector.sandbox.exact import seed
from connector.sandbox.server import ServerThread
from connector.store import admin_auth, records
from connector.store.tenants import Tenant
from connector.sync import outcomes, steps
from connector.sync.services import Services
from connector.wiring import build_services
from tests.conftest import make_settings
from tests.integration import test_mapping_helpers as helpers
from tests.integration.test_mapping_helpers import CliRunner, OwnExact, row, unique
from tests.support import add_tenant
from webhook_receiver import create_app

pytestmark = pytest.mark.integration
own_exact = helpers.own_exact
run_cli = helpers.run_cli
NOVEMBER = ("--from", "2026-11-01", "--to", "2026-11-30")


def _handle(svc: Services, own: OwnExact, tenant: Tenant, number: str, rows: list[dict[str, Any]]) -> int:
    """Deliver an invoice and run it through the real steps in this process, blocking it as a worker would."""
    basware_id = own.sandboxes.basware.add_invoice(make_invoice(number, "1001", "Acme Supplies BV", rows))
    with svc.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "invoice", basware_id)
    try:
        for step in (steps.fetch, steps.map_vendor, steps.validate, steps.write):
            step(svc, record_id)
    except RecordBlocked as exc:
        outcomes.block(svc, record_id, "validate", exc)
    return record_id


def _post_by_hand(exact: ExactClient, ref: str, on: date, amount: str) -> None:
    supplier = exact.find_supplier_by_code("1001")
    assert supplier is not None
    gl = next(r["ID"] for r in exact.gl_accounts() if r["Code"] == "4000")
    line = {"GLAccount": gl, "AmountFC": Decimal(amount), "VATCode": "0", "VATAmountFC": Decimal("0")}
    exact.create_purchase_entry(
        {"Journal": seed.PURCHASE_JOURNAL, "Supplier": supplier["ID"], "EntryDate": on, "YourRef": ref,
         "Currency": "EUR", "PurchaseEntryLines": [line]}
    )  # fmt: skip


def _edit_in_exact(exact: ExactClient, entry_id: str, net: str) -> None:
    entry = exact.get_purchase_entry(entry_id)
    line = entry["PurchaseEntryLines"]["results"][0]
    exact.update_purchase_entry(entry_id, {"PurchaseEntryLines": [{"ID": line["ID"], "AmountFC": Decimal(net)}]})


@pytest.fixture
def month(pg_services: Services, own_exact: OwnExact) -> dict[str, Any]:
    """A November with one line in every category, and its tenant."""
    svc = pg_services
    tenant = add_tenant(svc, own_exact.sandboxes)
    exact = svc.exact(tenant)
    refs = {name: unique(f"{name.upper()}-") for name in ("ok", "edited", "blocked", "twice", "hand")}
    _handle(svc, own_exact, tenant, refs["ok"], [row()])
    edited = _handle(svc, own_exact, tenant, refs["edited"], [row()])
    _edit_in_exact(exact, str(records.get(svc.db, edited).exact_id), "90.00")
    blocked = _handle(svc, own_exact, tenant, refs["blocked"], [row(account="4999")])
    assert records.get(svc.db, blocked).status == "blocked"
    _handle(svc, own_exact, tenant, refs["twice"], [row()])
    _post_by_hand(exact, refs["twice"], date(2026, 11, 21), "121.00")  # typed in again by hand
    _post_by_hand(exact, refs["hand"], date(2026, 11, 5), "45.50")
    _post_by_hand(exact, unique("OCT-"), date(2026, 10, 31), "10.00")  # outside the period
    _post_by_hand(exact, unique("DEC-"), date(2026, 12, 1), "10.00")
    return {"tenant": tenant, "refs": refs}


def test_a_month_with_every_category_is_reported_side_by_side_and_exits_non_zero(
    month: dict[str, Any], own_exact: OwnExact, run_cli: CliRunner, tmp_path: Path
) -> None:
    refs, tenant = month["refs"], month["tenant"]
    before = own_exact.calls()
    sheet = tmp_path / "november.csv"

    code, out, _err = run_cli("reconcile", tenant.name, *NOVEMBER, "--json", "--csv", str(sheet))

    assert code == 1
    assert own_exact.calls() - before == 1  # the whole month in one filtered call (fewer than 60 entries)
    report = json.loads(out)
    by_ref = {_ref(line): line for line in report["lines"]}
    assert set(by_ref) == set(refs.values())  # October and December left out
    assert by_ref[refs["ok"]]["category"] == "matched"
    edited = by_ref[refs["edited"]]
    assert edited["category"] == "amount_differs"
    assert (edited["basware"]["gross"], edited["exact"][0]["amount"]) == ("121.00", "108.90")
    blocked = by_ref[refs["blocked"]]
    assert blocked["category"] == "not_in_exact"
    assert blocked["basware"]["state"] == "blocked" and "4999" in blocked["basware"]["reason"]
    assert by_ref[refs["twice"]]["category"] == "duplicate" and len(by_ref[refs["twice"]]["exact"]) == 2
    by_hand = by_ref[refs["hand"]]
    assert by_hand["category"] == "not_from_basware" and by_hand["basware"] is None
    assert by_hand["exact"][0]["supplier"] == "Acme Supplies BV"  # named after the period's documents
    assert report["grand_total"]["EUR"] == {"count": 5, "basware": "484.00", "exact": "517.40"}
    totals = {t["category"]: t for t in report["totals"]}
    assert totals["duplicate"]["exact"] == "242.00"
    with sheet.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["category"] for r in rows) == sorted(
        ["matched", "amount_differs", "not_in_exact", "duplicate", "not_from_basware"]
    )


def test_the_text_report_names_each_category_and_its_totals(month: dict[str, Any], run_cli: CliRunner) -> None:
    code, out, _err = run_cli("reconcile", month["tenant"].name, *NOVEMBER)

    assert code == 1
    for heading in ("matched (1)", "amount differs (1)", "in Basware, not in Exact (1)", "entered by hand)", "(1)"):
        assert heading in out
    assert "EUR: 5 lines, basware 484.00, exact 517.40" in out
    assert "The systems do not agree" in out


def test_a_period_where_everything_matches_exits_zero(
    pg_services: Services, own_exact: OwnExact, run_cli: CliRunner
) -> None:
    tenant = add_tenant(pg_services, own_exact.sandboxes)
    _handle(pg_services, own_exact, tenant, unique("OK-"), [row()])

    code, out, _err = run_cli("reconcile", tenant.name, *NOVEMBER)

    assert code == 0, out
    assert "Both systems agree." in out


def _ref(line: dict[str, Any]) -> str:
    return line["basware"]["reference"] if line["basware"] else line["exact"][0]["your_ref"]


ADMIN = ("reconciler", "reconcile-test-password-long")


@pytest.fixture
def dashboard(pg_url: str, secret_key: str, tmp_path: Path) -> Iterator[str]:
    """The receiver with its dashboard and a user of this test's own on the session database; its /admin URL."""
    settings = make_settings(tmp_path, pg_url, secret_key)
    svc = build_services(dataclasses.replace(settings, cookie_secure=False))
    admin_users.add_user(svc.db, *ADMIN)
    try:
        with ServerThread(create_app(svc, enqueue=lambda record_id: None)) as server:
            yield f"{server.url}/admin"
    finally:
        admin_auth.remove_user(svc.db, ADMIN[0])  # other tests expect a dashboard without users
        svc.close()


def test_the_dashboard_page_shows_each_category_with_totals(month: dict[str, Any], dashboard: str) -> None:
    name, refs = month["tenant"].name, month["refs"]

    overview = requests.get(dashboard, auth=ADMIN, timeout=30)
    page = requests.get(f"{dashboard}/tenants/{name}/reconcile?from=2026-11-01&to=2026-11-30", auth=ADMIN, timeout=30)

    assert f"/admin/tenants/{name}/reconcile" in overview.text  # linked from the overview
    assert page.status_code == 200, page.text
    for heading in ("Matched (1)", "Amount differs (1)", "In basware, not in exact (1)", "Duplicates"):
        assert heading in page.text
    assert all(ref in page.text for ref in refs.values())
    assert "517.40" in page.text and "484.00" in page.text
    assert "The systems do not agree" in page.text


def test_the_dashboard_refuses_a_period_that_ends_before_it_starts(month: dict[str, Any], dashboard: str) -> None:
    url = f"{dashboard}/tenants/{month['tenant'].name}/reconcile?from=2026-11-30&to=2026-11-01"

    assert requests.get(url, auth=ADMIN, timeout=30).status_code == 400
