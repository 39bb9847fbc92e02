"""Secrets at rest: old keys still read, `keys rotate` rewrites everything, a wrong key stops start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from connector.crypto import SecretBox, generate_key
from connector.errors import ConfigurationError
from connector.exact.tokens import ExactTokens
from connector.store.basware_tokens import DbBaswareTokenStore
from connector.store.db import basware_tokens, exact_tokens, tenants
from connector.sync.services import Services
from connector.wiring import build_services
from ml_connector import cli
from tests.conftest import make_settings
from tests.support import plain_tenant

OLD, NEW = generate_key(), generate_key()


@pytest.fixture
def cli_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """The environment an operator's shell gives the CLI; returns the database URL."""
    url = f"sqlite:///{tmp_path / 'c.db'}"
    monkeypatch.setenv("CONNECTOR_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("CONNECTOR_DATABASE_URL", url)
    return url


def services(tmp_path: Path, url: str, key: str) -> Services:
    return build_services(make_settings(tmp_path, url, key))


def stored_with(tmp_path: Path, url: str, key: str) -> None:
    """A tenant, its Exact tokens and its Basware token, all encrypted with `key`."""
    svc = services(tmp_path, url, key)
    svc.db.upgrade()
    tenant = plain_tenant(svc)
    svc.token_store(tenant).save(ExactTokens("exact-access-x", "exact-refresh-x", 1000.0, 1600.0))
    DbBaswareTokenStore(svc.db, svc.box, tenant.id).save("basware-access-x", 5000.0)
    svc.close()


def readable_with(tmp_path: Path, url: str, key: str) -> tuple[str, str, str]:
    svc = services(tmp_path, url, key)
    tenant = svc.tenant("acme")
    exact = svc.token_store(tenant).load()
    basware = DbBaswareTokenStore(svc.db, svc.box, tenant.id).load()
    svc.close()
    assert exact is not None and basware is not None
    return tenant.secret("exact_client_secret", svc.box), exact.refresh_token, basware[0]


def raw_values(url: str) -> list[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        values = list(conn.execute(sa.select(tenants.c.exact_client_secret, tenants.c.webhook_secret)).one())
        values += list(conn.execute(sa.select(exact_tokens.c.access_token, exact_tokens.c.refresh_token)).one())
        values += [conn.execute(sa.select(basware_tokens.c.access_token)).scalar_one()]
    engine.dispose()
    return values


def test_nothing_is_stored_in_the_clear(tmp_path: Path, cli_env: str) -> None:
    stored_with(tmp_path, cli_env, OLD)
    stored = " ".join(raw_values(cli_env))
    for plain in ("exact-secret-unit", "hook-secret-unit", "exact-access-x", "exact-refresh-x", "basware-access-x"):
        assert plain not in stored


def test_a_new_key_in_front_still_reads_old_values_and_rotate_rewrites_them_all(
    tmp_path: Path, cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stored_with(tmp_path, cli_env, OLD)
    expected = ("exact-secret-unit", "exact-refresh-x", "basware-access-x")
    assert readable_with(tmp_path, cli_env, f"{NEW},{OLD}") == expected

    monkeypatch.setenv("CONNECTOR_SECRET_KEY", f"{NEW},{OLD}")
    assert cli.main(["keys", "rotate"]) == 0
    assert "6 stored secrets re-encrypted" in capsys.readouterr().out  # 3 tenant + 2 Exact + 1 Basware

    assert readable_with(tmp_path, cli_env, NEW) == expected  # the old key can now be dropped
    for value in raw_values(cli_env):
        with pytest.raises(ConfigurationError):
            SecretBox([OLD]).decrypt(value)


def test_a_wrong_key_is_a_clear_error_at_start_up(tmp_path: Path, cli_env: str) -> None:
    stored_with(tmp_path, cli_env, OLD)
    with pytest.raises(ConfigurationError, match="CONNECTOR_SECRET_KEY cannot decrypt the stored secrets"):
        services(tmp_path, cli_env, NEW)


def test_the_cli_names_the_key_problem_instead_of_a_traceback(
    tmp_path: Path, cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stored_with(tmp_path, cli_env, OLD)
    monkeypatch.setenv("CONNECTOR_SECRET_KEY", NEW)
    assert cli.main(["status"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: CONNECTOR_SECRET_KEY cannot decrypt") and "Traceback" not in err


def test_a_missing_key_with_an_external_database_is_refused(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, "postgresql+psycopg2://nobody@127.0.0.1:1/none", "")
    with pytest.raises(ConfigurationError, match="CONNECTOR_SECRET_KEY is not set"):
        build_services(settings)


def test_a_malformed_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="Fernet keys"):
        services(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", "not-a-key")


def test_a_new_database_starts_with_any_key(tmp_path: Path) -> None:
    services(tmp_path, f"sqlite:///{tmp_path / 'fresh.db'}", NEW).close()  # nothing stored: nothing to check
