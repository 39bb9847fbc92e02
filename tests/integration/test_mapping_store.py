"""Mapping tables and the master data cache on the embedded database: all-or-nothing, first remembered wins."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from connector.mapping.problems import problem
from connector.store import mappings, master, tenants
from connector.sync import master as master_sync
from connector.sync.services import Services


def _tenant(svc: Services) -> int:
    return tenants.add_tenant(
        svc.db, svc.box, name="acme", exact_region="NL", exact_client_id="c", exact_client_secret="s",
        exact_redirect_uri="http://127.0.0.1/cb", basware_region="EU", basware_client_id="b",
        basware_client_secret="s", webhook_secret="w" * 32, purchase_journal="60",
    ).id  # fmt: skip


@dataclass
class Division:
    """Just what the cache needs of an Exact client: the division it talks to."""

    division: int = 100001


def test_an_import_with_one_unknown_kind_applies_nothing(sqlite_services: Services) -> None:
    tenant_id = _tenant(sqlite_services)
    mappings.put(sqlite_services.db, tenant_id, "gl_account", "6100", "4000")

    with pytest.raises(ValueError, match="unknown mapping kind 'supplier'"):
        mappings.put_many(sqlite_services.db, tenant_id, [("gl_account", "6100", "4010"), ("supplier", "V", "1")])

    assert mappings.table(sqlite_services.db, tenant_id) == {("gl_account", "6100"): "4000"}


def test_an_import_replaces_and_adds_and_lists_with_origins(sqlite_services: Services) -> None:
    tenant_id = _tenant(sqlite_services)
    mappings.remember(sqlite_services.db, tenant_id, "vendor", "V1", "guid-1", origin="vat")

    mappings.put_many(sqlite_services.db, tenant_id, [("vendor", "V1", "1002"), ("cost_center", "OPS", "CC200")])

    assert [(e.kind, e.source, e.target, e.origin) for e in mappings.entries(sqlite_services.db, tenant_id)] == [
        ("cost_center", "OPS", "CC200", "manual"),
        ("vendor", "V1", "1002", "manual"),
    ]


def test_a_remembered_match_never_overwrites_an_earlier_mapping(sqlite_services: Services) -> None:
    tenant_id = _tenant(sqlite_services)
    first = mappings.remember(sqlite_services.db, tenant_id, "vendor", "V1", "guid-created", origin="created")

    second = mappings.remember(sqlite_services.db, tenant_id, "vendor", "V1", "guid-other", origin="name")

    assert (first.target, first.origin) == (second.target, second.origin) == ("guid-created", "created")


def test_the_cache_is_read_until_it_is_older_than_its_age_and_a_save_replaces_it(sqlite_services: Services) -> None:
    tenant_id = _tenant(sqlite_services)
    fetched: list[int] = []

    def fetch() -> list[dict[str, str]]:
        fetched.append(1)
        return [{"Code": f"{len(fetched)}"}]

    client = Division()
    first = master_sync.rows(sqlite_services.db, tenant_id, client, "journals", fetch)  # type: ignore[arg-type]
    again = master_sync.rows(sqlite_services.db, tenant_id, client, "journals", fetch)  # type: ignore[arg-type]
    forced = master_sync.rows(sqlite_services.db, tenant_id, client, "journals", fetch, max_age=0)  # type: ignore[arg-type]

    assert (first[1], again[1], forced[1]) == ([{"Code": "1"}], [{"Code": "1"}], [{"Code": "2"}])
    assert len(fetched) == 2
    master.save(sqlite_services.db, tenant_id, 100001, "journals", [])
    assert master.load(sqlite_services.db, tenant_id, 100001, "journals")[1] == []  # type: ignore[index]


def test_only_the_kinds_a_problem_points_at_are_fetched_again() -> None:
    problems = [problem(None, field, None, None, "") for field in ("gl_account", "amounts", "vat_code", "vendor")]

    assert master_sync.kinds_to_recheck(problems) == {"gl_accounts", "vat_codes"}
