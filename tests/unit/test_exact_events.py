"""What an Exact supplier event does to what the connector remembered (embedded database, no Exact call)."""

from __future__ import annotations

from connector.exact.webhooks import ExactEvent
from connector.store import exact_events as events_store
from connector.store import mappings, master, tenants
from connector.store.tenants import Tenant
from connector.sync import exact_events
from connector.sync.master import SUPPLIERS
from connector.sync.services import Services

HOME, OTHER = 100001, 3141592
GONE, KEPT = "aaaaaaaa-0000-0000-0000-000000000001", "aaaaaaaa-0000-0000-0000-000000000002"


def _tenant(svc: Services) -> Tenant:
    tenant = tenants.add_tenant(
        svc.db, svc.box, name="group", exact_region="NL", exact_client_id="c", exact_client_secret="s",
        exact_redirect_uri="http://127.0.0.1/cb", basware_region="EU", basware_client_id="b",
        basware_client_secret="s", webhook_secret="w" * 32, purchase_journal="60",
    )  # fmt: skip
    tenants.update_tenant(svc.db, tenant.id, exact_division=HOME, grant_status="active")
    return svc.tenant(tenant.id)


def _event(svc: Services, tenant: Tenant, topic: str, action: str, key: str, division: int = HOME) -> int:
    event_id, new = events_store.record(svc.db, tenant.id, ExactEvent(topic, action, division, key, "t1", None), "{}")
    assert new
    return event_id


def test_a_supplier_deleted_in_exact_is_forgotten_where_the_connector_remembered_it(sqlite_services: Services) -> None:
    svc = sqlite_services
    tenant = _tenant(svc)
    mappings.put(svc.db, tenant.id, "vendor", "V1", GONE, origin="code")  # found by the connector: forgotten
    mappings.put(svc.db, tenant.id, "vendor", "V2", GONE)  # an operator's word: kept, and blocks if wrong
    mappings.put(svc.db, tenant.id, "vendor", f"V1@{OTHER}", GONE, origin="code")  # another division: kept
    mappings.put(svc.db, tenant.id, "vendor", "V3", KEPT, origin="vat")
    master.save(svc.db, tenant.id, HOME, SUPPLIERS, [{"ID": GONE, "Code": "1"}, {"ID": KEPT, "Code": "2"}])

    outcome = exact_events.process(svc, _event(svc, tenant, "Accounts", "Delete", GONE))

    assert "1 remembered vendor resolution(s) dropped" in outcome
    assert {(e.source, e.target) for e in mappings.entries(svc.db, tenant.id, "vendor")} == {
        ("V2", GONE), (f"V1@{OTHER}", GONE), ("V3", KEPT),
    }  # fmt: skip
    cached = master.load(svc.db, tenant.id, HOME, SUPPLIERS)
    assert cached is not None and [row["ID"] for row in cached[1]] == [KEPT]


def test_an_event_is_applied_once_and_an_entry_the_connector_did_not_write_changes_nothing(
    sqlite_services: Services,
) -> None:
    svc = sqlite_services
    tenant = _tenant(svc)
    event_id = _event(svc, tenant, "PurchaseEntries", "Delete", GONE)

    assert exact_events.process(svc, event_id) == "an entry the connector did not write"
    assert exact_events.process(svc, event_id) == "already processed"
    again = ExactEvent("PurchaseEntries", "Delete", HOME, GONE, "t1", None)
    assert events_store.record(svc.db, tenant.id, again, "{}") == (event_id, False)  # a repeated delivery
