"""Which division a document goes to, and the mapping table as each division sees it (embedded database)."""

from __future__ import annotations

from connector.mapping.table import read_csv
from connector.store import mappings, tenants
from connector.store.mappings import MAPPING_KINDS
from connector.store.tenants import Tenant
from connector.sync import divisions
from connector.sync.services import Services

HOME, OTHER = 100001, 3141592


def _tenant(svc: Services) -> Tenant:
    tenant = tenants.add_tenant(
        svc.db, svc.box, name="group", exact_region="NL", exact_client_id="c", exact_client_secret="s",
        exact_redirect_uri="http://127.0.0.1/cb", basware_region="EU", basware_client_id="b",
        basware_client_secret="s", webhook_secret="w" * 32, purchase_journal="60",
    )  # fmt: skip
    tenants.update_tenant(svc.db, tenant.id, exact_division=HOME)
    return svc.tenant(tenant.id)


def test_a_mapped_company_code_goes_to_its_division_and_any_other_to_the_tenants(sqlite_services: Services) -> None:
    tenant = _tenant(sqlite_services)
    mappings.put_many(sqlite_services.db, tenant.id, [("division", "BE01", str(OTHER))])

    assert divisions.for_document(sqlite_services.db, tenant, {"companyCode": "BE01"}) == OTHER
    assert divisions.for_document(sqlite_services.db, tenant, {"companyCode": "NL01"}) == HOME
    assert divisions.for_document(sqlite_services.db, tenant, {}) == HOME
    assert divisions.all_of(sqlite_services.db, tenant) == [HOME, OTHER]


def test_each_division_sees_shared_mappings_its_own_and_never_another_divisions_supplier(
    sqlite_services: Services,
) -> None:
    tenant = _tenant(sqlite_services)
    mappings.put_many(
        sqlite_services.db,
        tenant.id,
        [
            ("gl_account", "6000", "4010"),
            ("gl_account", f"6000@{OTHER}", "4011"),
            ("vendor", "V1", "guid-of-home"),
            ("vendor", f"V1@{OTHER}", "guid-of-other"),
            ("vendor", "V2", "guid-of-home-only"),
            ("journal", str(OTHER), "61"),
        ],
    )

    home = divisions.table_for(sqlite_services.db, tenant, HOME)
    other = divisions.table_for(sqlite_services.db, tenant, OTHER)

    assert (home[("gl_account", "6000")], other[("gl_account", "6000")]) == ("4010", "4011")
    assert (home[("vendor", "V1")], other[("vendor", "V1")]) == ("guid-of-home", "guid-of-other")
    assert ("vendor", "V2") in home and ("vendor", "V2") not in other
    assert ("journal", "60") not in home and other[("journal", "60")] == "61"
    assert divisions.scoped("V2", OTHER, tenant) == f"V2@{OTHER}" and divisions.scoped("V2", HOME, tenant) == "V2"


def test_a_division_mapping_names_a_division_number() -> None:
    rows, problems = read_csv("kind,source,target\ndivision,NL01,3141592\ndivision,BE01,Belgium\n", MAPPING_KINDS)

    assert rows[0] == ("division", "NL01", "3141592")
    assert len(problems) == 1 and "division number" in str(problems[0]) and "Belgium" in str(problems[0])
