"""The dashboard at real volumes, over HTTP on PostgreSQL: pages and filters done in the database, "replay all
blocked" behind a confirmation with the count, and names next to codes instead of bare codes and GUIDs."""

from __future__ import annotations

import dataclasses
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from connector import admin_users
from connector.errors import RecordBlocked
from connector.sandbox.server import ServerThread
from connector.store import admin_auth, audit, mappings, master, records, tenants
from connector.store.tenants import Tenant
from connector.sync import outcomes
from connector.sync.services import Services
from tests.conftest import make_settings
from tests.support import Sandboxes, add_tenant

pytestmark = pytest.mark.integration

USER = ("controller", "a ledger that always balances")
SUPPLIER_ID = "6f1d2c3b-0a9e-4d8c-b7a6-1234567890ab"


class Enqueued(list[int]):
    def __call__(self, record_id: int) -> None:
        self.append(record_id)


@pytest.fixture(scope="module")
def svc(pg_url: str, secret_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    settings = make_settings(tmp_path_factory.mktemp("volumes"), pg_url, secret_key)
    services = Services(dataclasses.replace(settings, cookie_secure=False))
    services.db.upgrade()
    admin_users.add_user(services.db, *USER)
    yield services
    admin_auth.remove_user(services.db, USER[0])
    services.close()


@pytest.fixture
def enqueued() -> Enqueued:
    return Enqueued()


@pytest.fixture
def url(svc: Services, enqueued: Enqueued) -> Iterator[str]:
    from webhook_receiver import create_app

    with ServerThread(create_app(svc, enqueue=enqueued)) as server:
        yield server.url


@pytest.fixture
def browser() -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = USER
        yield session


@pytest.fixture
def tenant(svc: Services, sandboxes: Sandboxes) -> Tenant:
    return add_tenant(svc, sandboxes, authorize=False)


def _add(svc: Services, tenant: Tenant, n: int, status: str, supplier: str, day: str = "2024-03-15") -> int:
    """A record as the steps leave it; blocked ones with a GL account problem."""
    with svc.db.begin() as conn:
        record_id = records.upsert_pending(conn, tenant.id, "invoice", f"doc-{uuid.uuid4().hex}")
    created = datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp() + n
    records.update(svc.db, record_id, reference=f"INV-{n:05d}", supplier=supplier, gross="10.00", currency="EUR")
    with svc.db.begin() as conn:  # when it arrived: the date filter's subject
        conn.execute(records.records.update().where(records.records.c.id == record_id).values(created_at=created))
    if status == "blocked":
        problem = {"row": 1, "field": "gl_account", "basware_code": "4001", "mapped_code": "4001", "problem": "no 4001"}
        outcomes.block(svc, record_id, "validate", RecordBlocked("GL account 4001 unknown", [problem]))
    elif status != "pending":
        records.update(svc.db, record_id, status=status, exact_number=f"266{n:05d}" if status == "written" else None)
    return record_id


def _ids(page: str) -> list[int]:
    return [int(found) for found in re.findall(r'<td class="num"><a href="/admin/records/(\d+)"', page)]


def _get(browser: requests.Session, url: str) -> str:
    response = browser.get(url, timeout=10)
    assert response.status_code == 200, response.text
    return response.text


def test_the_list_pages_through_thousands_needing_a_fix_first(
    url: str, browser: requests.Session, svc: Services, tenant: Tenant
) -> None:
    written = [_add(svc, tenant, n, "written", "Paper & Co") for n in range(95)]
    blocked = [_add(svc, tenant, 100 + n, "blocked", "Paper & Co") for n in range(10)]
    base = f"{url}/admin/records?tenant={tenant.name}"

    first, third = _get(browser, base), _get(browser, f"{base}&page=3")

    assert _ids(first)[:10] == sorted(blocked, reverse=True)  # needing a fix first, newest first
    assert len(_ids(first)) == 50 and "Records 1–50 of 105" in first and "Page 1 of 3" in first
    assert _ids(third) == sorted(written, reverse=True)[-5:] and "Records 101–105 of 105" in third
    assert 'rel="next"' in first and 'rel="next"' not in third and 'rel="prev"' in third


def test_filters_narrow_the_list_in_the_database(
    url: str, browser: requests.Session, svc: Services, tenant: Tenant
) -> None:
    march = _add(svc, tenant, 1, "written", "Paper & Co", "2024-03-02")
    april = _add(svc, tenant, 2, "written", "Paper & Co", "2024-04-20")
    other = _add(svc, tenant, 3, "blocked", "Ink Ltd", "2024-04-21")
    base = f"{url}/admin/records?tenant={tenant.name}"

    assert _ids(_get(browser, f"{base}&supplier=paper")) == [april, march]  # any case, part of the name
    assert _ids(_get(browser, f"{base}&q=inv-00003")) == [other]
    assert _ids(_get(browser, f"{base}&from=2024-04-01&to=2024-04-20")) == [april]  # "to" is inclusive
    assert _ids(_get(browser, f"{base}&status=blocked&kind=invoice")) == [other]
    assert _ids(_get(browser, f"{base}&kind=purchase_order")) == []
    assert browser.get(f"{base}&from=31-12-2024", timeout=10).status_code == 400
    assert browser.get(f"{base}&kind=receipt", timeout=10).status_code == 400


def test_replay_all_blocked_asks_with_the_count_then_replays_only_those(
    url: str, browser: requests.Session, svc: Services, tenant: Tenant, enqueued: Enqueued
) -> None:
    ink = [_add(svc, tenant, n, "blocked", "Ink Ltd") for n in range(7)]
    paper = _add(svc, tenant, 50, "blocked", "Paper & Co")
    _add(svc, tenant, 51, "written", "Ink Ltd")
    listing = _get(browser, f"{url}/admin/records?tenant={tenant.name}&supplier=ink")
    assert "Replay all 7 blocked records shown by these filters" in listing

    confirm_url = re.search(r'href="(/admin/records/replay-blocked\?[^"]+)"', listing)
    assert confirm_url
    confirm = _get(browser, url + confirm_url.group(1).replace("&amp;", "&"))
    assert "<strong>7</strong> blocked records match" in confirm and ">Replay 7 records</button>" in confirm
    assert enqueued == []  # asking is not doing
    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', confirm))
    done = browser.post(f"{url}/admin/records/replay-blocked", data=form, timeout=10)

    assert "7 blocked record(s) were sent again" in done.text
    assert sorted(enqueued) == ink
    assert {records.get(svc.db, i).status for i in ink} == {"pending"}
    assert records.get(svc.db, paper).status == "blocked"
    trail = audit.entries(svc.db, record_id=ink[0])
    assert any(row["event"] == "replay_requested" and USER[0] in row["message"] for row in trail)


def test_replay_all_blocked_needs_the_form_token(
    url: str, browser: requests.Session, svc: Services, tenant: Tenant, enqueued: Enqueued
) -> None:
    blocked = _add(svc, tenant, 1, "blocked", "Ink Ltd")

    refused = browser.post(f"{url}/admin/records/replay-blocked", data={"tenant": tenant.name}, timeout=10)

    assert refused.status_code == 400 and enqueued == []
    assert records.get(svc.db, blocked).status == "blocked"


def test_codes_show_their_names_and_suppliers_their_code_not_a_guid(
    url: str, browser: requests.Session, svc: Services, tenant: Tenant
) -> None:
    division = 100001
    tenants.update_tenant(svc.db, tenant.id, exact_division=division)
    gl = [{"Code": "4000", "Description": "Office supplies"}, {"Code": "4010", "Description": "Printing"}]
    master.save(svc.db, tenant.id, division, "gl_accounts", gl)
    master.save(svc.db, tenant.id, division, "suppliers", [{"ID": SUPPLIER_ID, "Code": "1001", "Name": "Acme BV"}])
    mappings.put(svc.db, tenant.id, "vendor", "V-77", SUPPLIER_ID, origin="manual")
    record_id = _add(svc, tenant, 1, "pending", "Acme")
    problem = {
        "row": 2, "field": "gl_account", "basware_code": "4001", "mapped_code": "4001",
        "problem": "GL account 4001 does not exist", "suggestions": ["4000", "4010"],
    }  # fmt: skip
    records.update(svc.db, record_id, plan={"supplier": {"ID": SUPPLIER_ID, "Code": "1001", "Name": "Acme BV"}})
    outcomes.block(svc, record_id, "validate", RecordBlocked("1 problem", [problem]))

    page = _get(browser, f"{url}/admin/records/{record_id}")
    table = _get(browser, f"{url}/admin/tenants/{tenant.name}/mappings")

    problems = page[page.index("What needs fixing") : page.index("History")]
    assert "4000 Office supplies, 4010 Printing" in problems
    assert "1001 Acme BV" in page[: page.index("What needs fixing")]
    assert "(1001 Acme BV)" in table


def test_a_large_list_is_not_loaded_whole(url: str, browser: requests.Session, svc: Services, tenant: Tenant) -> None:
    rows = [
        {"tenant_id": tenant.id, "kind": "invoice", "basware_id": f"bulk-{uuid.uuid4().hex}", "status": "written",
         "reference": f"BULK-{n}", "write_attempts": 1, "created_at": time.time(), "updated_at": time.time()}
        for n in range(3000)
    ]  # fmt: skip
    with svc.db.begin() as conn:
        conn.execute(records.records.insert(), rows)

    page = _get(browser, f"{url}/admin/records?tenant={tenant.name}&page=60")

    assert "Records 2951–3000 of 3000" in page and len(_ids(page)) == 50


def test_replay_all_blocked_goes_in_batches_oldest_first(
    url: str,
    browser: requests.Session,
    svc: Services,
    tenant: Tenant,
    enqueued: Enqueued,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from webhook_receiver import dashboard_records

    monkeypatch.setattr(dashboard_records, "BATCH", 3)
    blocked = [_add(svc, tenant, n, "blocked", "Ink Ltd") for n in range(5)]
    confirm = _get(browser, f"{url}/admin/records/replay-blocked?tenant={tenant.name}")
    assert "<strong>5</strong> blocked records" in confirm and "The oldest 3 go now" in confirm

    form = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', confirm))
    done = browser.post(f"{url}/admin/records/replay-blocked", data=form, timeout=10)

    assert enqueued == blocked[:3]
    assert "3 blocked record(s) were sent again" in done.text and "2 more are waiting" in done.text
