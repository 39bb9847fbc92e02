"""Helpers for the mapping integration tests: deliver an invoice through the receiver, run the CLI in-process,
an Exact sandbox of a test's own (so call counts and raw request bodies belong to that test alone).

A support module, not a test module: the test_mapping_* modules import these.
"""

from __future__ import annotations

import io
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connector.sandbox.exact import ExactSandbox
from connector.store import records
from connector.store.records import Record
from connector.sync.services import Services
from ml_connector import cli
from tests.integration.conftest import settled, wait_for
from tests.support import Sandboxes, notification, own_exact_next_to, post_signed

DIVISION = 100001
D = Decimal


def unique(prefix: str) -> str:
    """A code or name no other test uses (the session's sandboxes are shared)."""
    return f"{prefix}{uuid.uuid4().hex[:8].upper()}"


def row(
    account: str = "4000",
    cost_center: str | None = "CC100",
    net: str = "100.00",
    tax: str = "21.00",
    tax_code: str | None = "VAT21",
    percent: int | str = 21,
    unit: str | None = None,
) -> dict[str, Any]:
    """One coding row for `make_invoice`."""
    return {
        "account_code": account,
        "cost_center_code": cost_center,
        "tax_code": tax_code,
        "tax_percent": D(str(percent)),
        "net": D(net),
        "tax": D(tax),
        "project_code": unit,
    }


def deliver(svc: Services, sandboxes: Sandboxes, receiver: str, tenant: str, document: dict[str, Any]) -> int:
    """Put the invoice in Basware, send its signed notification to the receiver; the record's id."""
    invoice_id = sandboxes.basware.add_invoice(document)
    body = notification(invoice_id)
    response = post_signed(receiver, tenant, body)
    assert response.status_code == 202, response.text
    [found] = [r for r, _ in records.list_records(svc.db) if r.basware_id == invoice_id]
    return found.id


def settle(svc: Services, record_id: int) -> Record:
    """Wait until the record is written or blocked, and reported to Basware either way."""
    wait_for(lambda: settled(svc, record_id), what=f"record {record_id} to settle")
    return records.get(svc.db, record_id)


def entries(exact: ExactSandbox, your_ref: str, division: int = DIVISION) -> list[dict[str, Any]]:
    """The Exact entries written for one invoice number."""
    return [e for e in exact.purchase_entries(division) if e["YourRef"] == your_ref]


def responses(sandboxes: Sandboxes, record: Record) -> list[tuple[bool, str]]:
    """(success, message) of every transfer response Basware holds for the record's invoice."""
    held = sandboxes.basware.invoice(record.basware_id)["transferResponses"]
    return [(r["success"], r["responseMessage"]) for r in held]


class BodyRecorder:
    """WSGI middleware that keeps the raw bytes of every purchase entry POST, then passes the request on."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.bodies: list[bytes] = []

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith("/PurchaseEntries"):
            body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            self.bodies.append(body)
            environ["wsgi.input"] = io.BytesIO(body)
        return self.app(environ, start_response)


@dataclass
class OwnExact:
    sandboxes: Sandboxes
    recorder: BodyRecorder

    @property
    def exact(self) -> ExactSandbox:
        return self.sandboxes.exact

    def calls(self) -> int:
        """Every Exact API call so far, `current/Me` included."""
        return self.exact.api_calls[DIVISION] + self.exact.me_calls


@pytest.fixture
def own_exact(sandboxes: Sandboxes) -> Iterator[OwnExact]:
    """A fresh Exact sandbox (seeded division 100001) next to the session's Basware sandbox.

    Its minute limit is raised so that a burst of fifty invoices is counted, not throttled.
    """
    exact = ExactSandbox(minute_limit=10_000)
    exact.add_division()
    recorder = BodyRecorder(exact.app)
    with own_exact_next_to(sandboxes, exact, recorder) as own:
        yield OwnExact(own, recorder)


CliRunner = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    pg_url: str,
    redis_url: str,
    secret_key: str,
    celery_app: Any,
    tmp_path: Path,
) -> CliRunner:
    """`ml-connector ARGS` in this process, with CONNECTOR_* pointing at the test database and broker."""
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", pg_url)
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", secret_key)
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CELERY_BROKER_URL", redis_url)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli.main(list(argv))
        out, err = capsys.readouterr()
        return code, out, err

    return run
