"""Validate before writing: every line is resolved in the target division, a failure blocks the whole record with
every failing line in the audit, and a fixed mapping plus a replay writes exactly one entry.

PostgreSQL, Redis, the real worker process and both sandboxes over HTTP.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from connector.sandbox.basware import make_invoice
from connector.sandbox.exact.seed import seed_guid
from connector.store import audit, master, tenants
from connector.sync.services import Services
from tests.integration import mapping_helpers as helpers
from tests.integration.conftest import wait_for
from tests.integration.mapping_helpers import (
    DIVISION,
    CliRunner,
    deliver,
    entries,
    responses,
    row,
    settle,
    unique,
)
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration
run_cli = helpers.run_cli  # a shared fixture

CASES = {
    "unknown GL": (row(account="4999"), "gl_account", "4999", "GL account 4999 does not exist in Exact division"),
    "blocked GL": (row(account="4129"), "gl_account", "4129", "GL account 4129 is blocked in Exact"),
    "ended cost center": (row(cost_center="CC900"), "cost_center", "CC900", "cost center CC900 ended on 2020-12-31"),
    "VAT disagreement": (
        row(tax_code="VAT21", percent=9, tax="9.00"),
        "vat_code",
        "VAT21",
        "VAT code 1 is 21% in Exact but the Basware line says 9%",
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_a_line_that_does_not_resolve_blocks_before_any_write(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str, case: str
) -> None:
    bad, field, code, text = CASES[case]
    tenant = add_tenant(pg_services, sandboxes)
    number = unique("INV-")
    invoice = make_invoice(number, "1001", "Acme Supplies BV", [row(), bad])

    record = settle(pg_services, deliver(pg_services, sandboxes, receiver, tenant.name, invoice))

    assert record.status == "blocked" and entries(sandboxes.exact, number) == []
    [problem] = record.problems or []
    assert (problem["row"], problem["field"], problem["basware_code"]) == (2, field, code)
    assert text in problem["problem"]
    [(ok, message)] = responses(sandboxes, record)
    assert not ok and text in message


def test_totals_that_do_not_add_up_block_with_the_figures(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    number = unique("INV-")
    invoice = make_invoice(number, "1001", "Acme Supplies BV", [row(net="100.00", tax="21.00")])
    invoice["grossSum"] = "121.01"
    invoice["codingRows"][0]["grossTotal"] = "121.10"

    record = settle(pg_services, deliver(pg_services, sandboxes, receiver, tenant.name, invoice))

    assert record.status == "blocked" and entries(sandboxes.exact, number) == []
    assert [(p["row"], p["problem"]) for p in record.problems or []] == [
        (1, "line net 100.00 + VAT 21.00 = 121.00, but the line gross is 121.10"),
        (None, "net 100.00 + VAT 21.00 = 121.00, but the invoice gross total is 121.01"),
    ]


def test_the_audit_lists_every_failing_line_with_codes_and_close_matches(
    pg_services: Services,
    sandboxes: Sandboxes,
    worker: Any,
    receiver: str,
    run_cli: CliRunner,
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    number = unique("INV-")
    rows = [row(account="4999"), row(), row(account="4129", cost_center="CC900"), row(tax_code="VAT6")]
    invoice = make_invoice(number, "1001", "Acme Supplies BV", rows)

    record = settle(pg_services, deliver(pg_services, sandboxes, receiver, tenant.name, invoice))

    [blocked] = [a for a in audit.entries(pg_services.db, record_id=record.id) if a["event"] == "blocked"]
    listed = [(p["row"], p["field"], p["basware_code"]) for p in blocked["detail"]["problems"]]
    assert listed == [(1, "gl_account", "4999"), (3, "gl_account", "4129"), (3, "cost_center", "CC900"),
                      (4, "vat_code", "VAT6")]  # fmt: skip
    assert "4099" in blocked["detail"]["problems"][0]["suggestions"]
    assert blocked["message"].startswith("4 problems: line 1: GL account 4999 does not exist")
    code, out, _ = run_cli("records", "show", str(record.id))
    assert code == 0
    assert "line 1 gl_account 4999: GL account 4999 does not exist in Exact division 100001" in out
    assert "line 4 vat_code VAT6: no VAT mapping for Basware tax VAT6; add a vat_code mapping" in out
    code, out, _ = run_cli("records", "list", "--tenant", tenant.name, "--status", "blocked")
    assert code == 0 and "4 problems, first line 1 gl_account 4999" in out


def test_a_gl_mapping_imported_from_csv_then_replay_blocked_writes_exactly_one_entry(
    pg_services: Services,
    sandboxes: Sandboxes,
    worker: Any,
    receiver: str,
    run_cli: CliRunner,
    tmp_path: Any,
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    number = unique("INV-")
    invoice = make_invoice(number, "1002", "Globex Office Supplies", [row(account="6100", cost_center="OPS")])
    record = settle(pg_services, deliver(pg_services, sandboxes, receiver, tenant.name, invoice))
    assert record.status == "blocked" and len(record.problems or []) == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("kind,source,target\ngl_account,6100,4010\ncostcenter,OPS,CC200\ncost_center,X,\n")

    code, _out, err = run_cli("mappings", "import", tenant.name, str(bad))

    assert code == 1
    assert "line 3: unknown kind 'costcenter'" in err and "line 4: source (the Basware code) and target" in err
    assert run_cli("mappings", "export", tenant.name, "--kind", "gl_account")[1] == "kind,source,target\n"
    good = tmp_path / "good.csv"
    good.write_text("kind,source,target\ngl_account,6100,4010\ncost_center,OPS,CC200\n")
    assert run_cli("mappings", "import", tenant.name, str(good))[0] == 0
    code, out, _ = run_cli("replay", "--blocked", "--tenant", tenant.name)
    assert code == 0 and "1 record replayed" in out

    record = settle(pg_services, record.id)
    assert record.status == "written"
    [entry] = entries(sandboxes.exact, number)
    [line] = entry["PurchaseEntryLines"]
    assert (line["GLAccount"], line["CostCenter"]) == (seed_guid(DIVISION, "GLAccount", "4010"), "CC200")
    assert [ok for ok, _ in responses(sandboxes, record)] == [False, True]
    assert run_cli("replay", str(record.id))[1].startswith(f"record {record.id} is written: nothing to replay")
    assert len(entries(sandboxes.exact, number)) == 1
    listed = run_cli("mappings", "list", tenant.name, "--kind", "cost_center")[1]
    assert "OPS" in listed and "CC200" in listed and "manual" in listed


def test_the_cost_unit_comes_from_the_tenants_configured_basware_dimension(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    tenants.update_tenant(pg_services.db, tenant.id, cost_unit_field="dimCode1")
    number = unique("INV-")
    invoice = make_invoice(number, "1001", "Acme Supplies BV", [row(unit="CU1")])
    invoice["codingRows"][0]["dimCode1"] = "CU2"  # projectCode says CU1, the tenant's dimension says CU2

    record = settle(pg_services, deliver(pg_services, sandboxes, receiver, tenant.name, invoice))

    assert record.status == "written"
    [entry] = entries(sandboxes.exact, number)
    assert [line["CostUnit"] for line in entry["PurchaseEntryLines"]] == ["CU2"]


def test_beat_refreshes_the_master_data_cache_through_the_worker(
    pg_services: Services, sandboxes: Sandboxes, worker: Any, receiver: str, celery_app: Any
) -> None:
    tenant = add_tenant(pg_services, sandboxes)
    settle(
        pg_services,
        deliver(pg_services, sandboxes, receiver, tenant.name, make_invoice(unique("I-"), "1001", "Acme", [row()])),
    )
    master.save(pg_services.db, tenant.id, DIVISION, "gl_accounts", [], fetched_at=time.time() - 7200)

    celery_app.send_task("connector.refresh_master_data")

    def refreshed() -> bool:
        cached = master.load(pg_services.db, tenant.id, DIVISION, "gl_accounts")
        return cached is not None and len(cached[1]) == 131

    wait_for(refreshed, what="beat's master data refresh")
