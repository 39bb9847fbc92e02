"""The fit check against both sandboxes: what would post, what would block and why, and proof it wrote nothing.

Sandboxes of the test's own (fresh Exact and Basware), so their request logs and waiting documents are this
test's alone; records and mappings are compared with the database before the check.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from connector.sandbox.basware import BaswareSandbox, make_invoice, make_purchase_order
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.exact.items import DEFAULT_ITEM
from connector.sandbox.server import ServerThread
from connector.store import tenants
from connector.store.db import mappings, records
from connector.sync.services import Services
from tests.integration import test_mapping_helpers as helpers
from tests.integration.test_mapping_helpers import CliRunner, row, unique
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration
run_cli = helpers.run_cli
WRITES = {"POST", "PUT", "DELETE", "PATCH"}


@pytest.fixture
def fresh() -> Iterator[Sandboxes]:
    exact, basware = ExactSandbox(minute_limit=10_000), BaswareSandbox()
    exact.add_division()
    with ServerThread(exact.app) as exact_server, ServerThread(basware.app) as basware_server:
        yield Sandboxes(exact, basware, exact_server.url, basware_server.url)


@pytest.fixture
def waiting(pg_services: Services, fresh: Sandboxes) -> dict[str, Any]:
    """A tenant and the documents waiting for it in Basware: two fine, four with a different cause each."""
    tenant = add_tenant(pg_services, fresh)
    tenants.update_tenant(pg_services.db, tenant.id, default_item=DEFAULT_ITEM)
    add = fresh.basware.add_invoice
    ids = {
        "ok": add(make_invoice(unique("OK-"), "1001", "Acme Supplies BV", [row()])),
        "gl": add(make_invoice(unique("GL-"), "1001", "Acme Supplies BV", [row(account="4999")])),
        "ended": add(make_invoice(unique("CC-"), "1002", "Globex Office Supplies", [row(cost_center="CC900")])),
        "vat": add(
            make_invoice(unique("VAT-"), "1001", "Acme Supplies BV", [row(tax_code="VAT5", percent="5.5", tax="5.50")])
        ),
        "vendor": add(make_invoice(unique("NEW-"), "7777", "Nobody Knows BV", [row()])),
    }
    lunch = {"quantity": 1, "unit_price": Decimal("149.95"), "line_type": "FreeText", "description": "Lunch",
             "cost_center_code": "CC100", "tax_percent": 9}  # fmt: skip
    ids["order"] = fresh.basware.purchase_orders.add(
        make_purchase_order(unique("PO-"), "1001", "Acme Supplies BV", [lunch])
    )
    return {"tenant": pg_services.tenant(tenant.id), "ids": ids}


def _tables(svc: Services) -> tuple[list[Any], list[Any]]:
    with svc.db.begin() as conn:
        kept = [list(conn.execute(sa.select(t).order_by(*t.primary_key.columns))) for t in (records, mappings)]
    return kept[0], kept[1]


def test_the_check_says_what_would_post_and_what_would_block_and_writes_nothing(
    pg_services: Services, fresh: Sandboxes, waiting: dict[str, Any], run_cli: CliRunner
) -> None:
    ids, tenant = waiting["ids"], waiting["tenant"]
    before = _tables(pg_services)
    exact_log, basware_log = len(fresh.exact.request_log), len(fresh.basware.request_log)

    code, out, _err = run_cli("check", tenant.name, "--json")

    assert code == 1
    verdicts = {v["basware_id"]: v for v in json.loads(out)}
    assert set(verdicts) == set(ids.values())
    outcome = {name: verdicts[basware_id]["outcome"] for name, basware_id in ids.items()}
    assert outcome == {
        "ok": "would_post", "order": "would_post", "gl": "would_block", "ended": "would_block",
        "vat": "would_block", "vendor": "would_block",
    }  # fmt: skip
    assert verdicts[ids["order"]]["kind"] == "purchase_order" and verdicts[ids["ok"]]["kind"] == "invoice"
    fields = {name: [p["field"] for p in verdicts[ids[name]]["problems"]] for name in ("gl", "ended", "vat", "vendor")}
    assert fields == {"gl": ["gl_account"], "ended": ["cost_center"], "vat": ["vat_code"], "vendor": ["vendor"]}
    # Nothing written anywhere: no write to Exact, nothing acknowledged or answered in Basware, no record, no mapping.
    assert not [call for call in fresh.exact.request_log[exact_log:] if call[0] in WRITES]
    assert [call for call in fresh.basware.request_log[basware_log:] if call[0] != "GET"] == [("POST", "/v1/tokens")]
    invoices = [fresh.basware.invoice(i) for name, i in ids.items() if name != "order"]
    assert all(view["acknowledged"] == 0 and not view["transferResponses"] for view in invoices)
    assert _tables(pg_services) == before


def test_the_text_groups_the_blocks_by_cause_with_the_mappings_that_would_fix_them(
    waiting: dict[str, Any], run_cli: CliRunner
) -> None:
    code, out, _err = run_cli("check", waiting["tenant"].name)

    assert code == 1
    assert "6 waiting documents, 2 would post" in out
    for cause in (
        "would block: unknown or unusable GL account (1)",
        "would block: ended cost center (1)",
        "would block: missing VAT mapping (1)",
        "would block: vendor not in Exact (1)",
    ):
        assert cause in out
    assert "vat_code,VAT5,5" in out  # the Exact code with the same percentage
    assert "vendor,7777,?" in out
    assert "gl_account,4999," in out


def test_last_limits_the_documents_of_each_kind(waiting: dict[str, Any], run_cli: CliRunner) -> None:
    code, out, _err = run_cli("check", waiting["tenant"].name, "--last", "1", "--json")

    verdicts = json.loads(out)
    assert sorted(v["kind"] for v in verdicts) == ["invoice", "purchase_order"]
    assert verdicts[0]["basware_id"] == waiting["ids"]["vendor"]  # the last invoice listed
    assert code == 1


def test_a_vendor_the_tenant_would_create_would_post_and_is_not_created(
    pg_services: Services, fresh: Sandboxes, run_cli: CliRunner
) -> None:
    tenant = add_tenant(pg_services, fresh, auto_create=True)
    basware_id = fresh.basware.add_invoice(make_invoice(unique("NEW-"), "7778", "Brand New BV", [row()]))
    accounts = len(fresh.exact.request_log)

    code, out, _err = run_cli("check", tenant.name, "--json")

    [verdict] = json.loads(out)
    assert (verdict["basware_id"], verdict["outcome"], code) == (basware_id, "would_post", 0)
    assert verdict["notes"] == ["would be created in Exact"]
    assert not [call for call in fresh.exact.request_log[accounts:] if call[0] in WRITES]
