"""The ml-connector command line as an operator scripts it: exit codes, output, and no secret ever printed."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa

from connector.basware.scopes import required_scopes
from connector.store import inbox, tenants
from connector.sync import grants
from connector.sync.services import Services
from connector.wiring import build_services
from ml_connector.cli import main
from tests.support import BASWARE_SECRET, EXACT_SECRET, WEBHOOK_SECRET, Sandboxes

pytestmark = pytest.mark.integration


@pytest.fixture
def cli_env(tmp_path: Path, secret_key: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's environment: the embedded defaults in a fresh data folder."""
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", secret_key)
    monkeypatch.delenv("CONNECTOR_DATABASE_URL", raising=False)
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    assert main(["db", "upgrade"]) == 0
    return tmp_path


@pytest.fixture
def shell_services(cli_env: Path) -> Iterator[Services]:
    """Services built from the CLI's environment: the test looks at the database the commands use."""
    svc = build_services()
    yield svc
    svc.close()


SECRET_VARIABLES = {
    "ML_CONNECTOR_EXACT_CLIENT_SECRET": EXACT_SECRET,
    "ML_CONNECTOR_BASWARE_CLIENT_SECRET": BASWARE_SECRET,
    "ML_CONNECTOR_WEBHOOK_SECRET": WEBHOOK_SECRET,
}


def _add(name: str, sandboxes: Sandboxes, secrets: dict[str, str] | None = None, **overrides: str | None) -> int:
    """`tenant add` as an operator runs it: options as arguments, secrets in the environment."""
    exact_client, basware_client = f"exact-{name}", f"basware-{name}"
    redirect = f"http://127.0.0.1:9/{name}/callback"
    sandboxes.exact.register_client(exact_client, EXACT_SECRET, redirect)
    sandboxes.basware.register_client(basware_client, BASWARE_SECRET)
    options: dict[str, str | None] = {
        "--exact-region": "NL",
        "--exact-client-id": exact_client,
        "--exact-redirect-uri": redirect,
        "--basware-region": "EU",
        "--basware-client-id": basware_client,
        "--purchase-journal": "60",
        "--exact-base-url": sandboxes.exact_url,
        "--basware-base-url": sandboxes.basware_url,
    }
    options.update(overrides)
    with pytest.MonkeyPatch.context() as env:
        for variable, value in {**SECRET_VARIABLES, **(secrets or {})}.items():
            env.setenv(variable, value)
        arguments = [part for flag, value in options.items() for part in ([flag] if value is None else [flag, value])]
        return main(["tenant", "add", name, *arguments])


def test_tenant_add_list_show_never_print_a_secret(
    cli_env: Path, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add("acme", sandboxes) == 0
    assert main(["tenant", "list"]) == 0
    assert main(["tenant", "show", "acme"]) == 0
    assert main(["status"]) == 0

    out = capsys.readouterr().out
    assert "acme" in out and "exact_region" in out and "NL" in out
    for secret in (EXACT_SECRET, BASWARE_SECRET, WEBHOOK_SECRET):
        assert secret not in out


def test_an_unknown_region_is_refused_with_the_valid_ones(
    cli_env: Path, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add("bad", sandboxes, **{"--exact-region": "XX"}) == 1

    err = capsys.readouterr().err
    assert "unknown Exact region 'XX'" in err and "NL" in err and "UK" in err


def test_authorize_with_a_pasted_code_then_ping_both_systems(
    shell_services: Services, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add("beta", sandboxes) == 0
    svc = shell_services
    url, state = grants.consent_url(svc, svc.tenant("beta"))
    with requests.get(url, allow_redirects=False, timeout=10) as consent:
        code = grants.code_from_callback(consent.headers["Location"], state)

    assert main(["exact", "authorize", "beta", f"--code={code}"]) == 0
    assert main(["ping", "beta"]) == 0

    out = capsys.readouterr().out
    assert "Exact division 100001" in out
    assert "exact:   ok" in out and "basware: ok" in out


def test_ping_fails_when_a_system_refuses_the_credentials(
    cli_env: Path, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add("gamma", sandboxes, {"ML_CONNECTOR_BASWARE_CLIENT_SECRET": "not-the-secret"}) == 0

    assert main(["ping", "gamma"]) == 1

    out = capsys.readouterr().out
    assert "basware: FAILED" in out and "exact:   FAILED" in out  # no consent yet either
    assert "not-the-secret" not in out


def test_ping_names_the_basware_scope_the_client_was_not_granted(
    cli_env: Path, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add("scoped", sandboxes) == 0
    without_orders = set(required_scopes()) - {"exportedPurchaseOrders.read"}
    sandboxes.basware.register_client("basware-scoped", BASWARE_SECRET, scopes=without_orders)

    assert main(["ping", "scoped"]) == 1

    out = capsys.readouterr().out
    assert "basware: FAILED" in out
    assert "lacks scope(s) exportedPurchaseOrders.read" in out
    assert BASWARE_SECRET not in out


def test_records_list_json_has_the_documented_fields(
    shell_services: Services, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add("delta", sandboxes) == 0
    svc = shell_services
    inbox.record_notification(
        svc.db,
        tenant_id=svc.tenant("delta").id,
        task_id="t-1",
        task_type="AccountingDocuments",
        document_id="doc-1",
        body="{}",
    )
    capsys.readouterr()

    assert main(["records", "list", "--tenant", "delta", "--status", "pending", "--json"]) == 0

    [row] = json.loads(capsys.readouterr().out)
    assert {"id", "tenant", "kind", "basware_id", "status", "exact_id", "reason"} <= set(row)
    assert (row["tenant"], row["kind"], row["basware_id"], row["status"]) == ("delta", "invoice", "doc-1", "pending")


def test_the_demo_writes_the_clean_invoices_and_blocks_the_two_bad_ones(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CONNECTOR_", "CELERY_"))}
    env["CONNECTOR_DATA_DIR"] = str(tmp_path)

    result = subprocess.run(
        [sys.executable, "-m", "ml_connector.cli", "demo", "--invoices", "4"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )

    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "4 purchase entries written, 2 blocked" in result.stdout
    assert "GL account 4999 does not exist" in result.stdout
    assert "vendor 2001 (Umbrella Facilities) not found" in result.stdout


def test_resolve_refuses_a_record_that_was_not_blocked_on_a_later_version(
    shell_services: Services, sandboxes: Sandboxes, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add("epsilon", sandboxes) == 0
    svc = shell_services
    accepted = inbox.record_notification(
        svc.db,
        tenant_id=svc.tenant("epsilon").id,
        task_id="t-9",
        task_type="AccountingDocuments",
        document_id="doc-9",
        body="{}",
    )

    assert main(["records", "resolve", str(accepted.record_id), "--note", "fixed"]) == 1

    assert "only a record blocked on a later version" in capsys.readouterr().err


def test_a_secret_given_as_an_argument_is_refused_before_anything_is_stored(
    cli_env: Path, sandboxes: Sandboxes, shell_services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as refused:
        _add("argv", sandboxes, **{"--webhook-secret": WEBHOOK_SECRET})

    assert refused.value.code == 2
    assert "would show in ps and shell history" in capsys.readouterr().err
    assert tenants.find_tenant(shell_services.db, "argv") is None


def test_a_weak_webhook_secret_is_refused_and_a_generated_one_is_offered(
    cli_env: Path, sandboxes: Sandboxes, shell_services: Services, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _add("weak", sandboxes, {"ML_CONNECTOR_WEBHOOK_SECRET": "too-short"}) == 1
    assert "at least 32 bytes" in capsys.readouterr().err
    assert tenants.find_tenant(shell_services.db, "weak") is None

    generate: dict[str, str | None] = {"--generate-webhook-secret": None}
    assert _add("strong", sandboxes, {"ML_CONNECTOR_WEBHOOK_SECRET": ""}, **generate) == 0
    shown = capsys.readouterr().out.rsplit(": ", 1)[1].strip()
    assert len(shown) >= 43
    assert tenants.get_tenant(shell_services.db, "strong").webhook_secrets(shell_services.box) == [shown]


def test_secrets_come_from_stdin_and_the_webhook_secret_rotates_with_an_overlap(
    cli_env: Path, sandboxes: Sandboxes, shell_services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _add("rota", sandboxes) == 0
    new = "a-new-webhook-secret-from-stdin-0123456789"
    monkeypatch.setattr("sys.stdin", io.StringIO(f"webhook_secret={new}\n"))

    assert main(["tenant", "set", "rota", "--webhook-secret", "--secrets-from-stdin", "--overlap-days", "2"]) == 0

    assert tenants.get_tenant(shell_services.db, "rota").webhook_secrets(shell_services.box) == [new, WEBHOOK_SECRET]


def test_the_chat_webhook_url_is_a_secret_encrypted_at_rest_and_shown_only_by_host(
    cli_env: Path, sandboxes: Sandboxes, shell_services: Services, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    assert _add("chatty", sandboxes) == 0
    url = "https://hooks.chat.example/services/T000/B000/sEcReTtOkEnInThePath"
    monkeypatch.setenv("ML_CONNECTOR_NOTIFY_WEBHOOK_URL", url)

    assert main(["tenant", "set", "chatty", "--notify-webhook-url"]) == 0
    assert main(["tenant", "show", "chatty"]) == 0

    out = capsys.readouterr().out
    assert "hooks.chat.example" in out and "sEcReTtOkEnInThePath" not in out
    with shell_services.db.begin() as conn:
        stored = conn.execute(sa.text("SELECT notify_webhook_url FROM tenants WHERE name = 'chatty'")).scalar()
    assert stored and "sEcReTtOkEnInThePath" not in stored
    assert tenants.get_tenant(shell_services.db, "chatty").notify_webhook_url(shell_services.box) == url
