"""Fuzzing the receiver: 10,000 generated requests, signed and unsigned, well-formed and not. Nothing may be a
500 (Basware retries those for ever), and nothing is stored for a request that was refused."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connector.basware.signature import sign
from connector.store import inbox
from connector.store.tenants import Tenant
from connector.sync.services import Services
from tests.support import WEBHOOK_SECRET
from tests.support.receiving import Enqueued
from webhook_receiver import create_app

pytestmark = pytest.mark.integration


@pytest.fixture
def pg_services(private_pg_services: Services) -> Services:
    """This module's receivers have a stand-in broker: a database of the test's own (see private_pg_services)."""
    return private_pg_services


EXAMPLES = 10_000

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30) | st.floats(allow_nan=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
notifications = st.fixed_dictionaries(
    {},
    optional={
        "taskId": st.text(max_size=120),
        "taskType": st.sampled_from(["AccountingDocuments", "ExportedPurchaseOrders", "ConnectionTest", "X", ""]),
        "taskStatus": st.text(max_size=10),
        "taskSubType": st.sampled_from(["WaitingForTransfer", "WaitingForExport", None]),
        "documentId": st.text(max_size=120) | st.integers(),
        "extra": json_values,
    },
)
bodies = (
    notifications.map(lambda n: json.dumps(n).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=300)
)


@pytest.fixture
def fuzz_tenant(pg_services: Services, sandboxes: Any) -> Tenant:
    from tests.support import add_tenant

    return add_tenant(pg_services, sandboxes, name="fuzzed", authorize=False)


def test_no_generated_request_is_a_500_and_refusals_store_nothing(pg_services: Services, fuzz_tenant: Tenant) -> None:
    client = create_app(pg_services, enqueue=Enqueued()).test_client()
    seen: dict[str, int] = {}

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
    @given(
        name=st.sampled_from(["fuzzed"]) | st.text(max_size=80),
        body=bodies,
        signed=st.sampled_from(["right", "wrong", "none", "garbage"]),
    )
    def one(name: str, body: bytes, signed: str) -> None:
        headers = {"Content-Type": "application/json"}
        if signed == "right":
            headers["X-BW-Signature"] = sign(WEBHOOK_SECRET, body)
        elif signed == "wrong":
            headers["X-BW-Signature"] = sign("not-the-secret-" + "x" * 30, body)
        elif signed == "garbage":
            headers["X-BW-Signature"] = "".join(c for c in body[:40].decode("latin-1") if c.isprintable())
        response = client.post("/webhooks/basware/" + _quoted(name), data=body, headers=headers)

        assert response.status_code < 500, (response.status_code, response.get_data(as_text=True))
        seen[str(response.status_code)] = seen.get(str(response.status_code), 0) + 1

    before = inbox.count(pg_services.db)
    one()
    # Every event stored was answered 202; a refusal (4xx), a duplicate or a ConnectionTest (200) stored none.
    assert inbox.count(pg_services.db) - before == seen.get("202", 0)
    assert sum(seen.values()) >= EXAMPLES and {"401", "400"} <= set(seen)  # both kinds of refusal were exercised


def _quoted(name: str) -> str:
    from urllib.parse import quote

    return quote(name.encode("utf-8", "surrogatepass"), safe="")
