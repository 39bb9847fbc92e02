"""Database URLs as users write them: every common PostgreSQL spelling reaches the driver we install."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from connector.errors import ConfigurationError
from connector.store import state
from connector.store.db import Database
from connector.sync.services import Services
from tests.conftest import _admin, make_settings

pytestmark = pytest.mark.integration

PASSWORD = "pw-never-logged-7f3a"  # the test server trusts local connections, so any password connects
FORMS = {
    "postgresql": "postgresql://postgres:{pw}@127.0.0.1:5432/{name}",
    "postgres": "postgres://postgres:{pw}@127.0.0.1:5432/{name}",
    "postgresql+psycopg2": "postgresql+psycopg2://postgres:{pw}@127.0.0.1:5432/{name}",
}


@pytest.fixture
def empty_database() -> Iterator[str]:
    """The name of a new, empty PostgreSQL database, dropped afterwards."""
    name = f"mlc_url_{uuid.uuid4().hex[:10]}"
    _admin(f"CREATE DATABASE {name}")
    try:
        yield name
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.parametrize("form", FORMS.values(), ids=FORMS.keys())
def test_each_postgresql_url_form_connects_and_upgrades(
    form: str, empty_database: str, secret_key: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    svc = Services(make_settings(tmp_path, form.format(pw=PASSWORD, name=empty_database), secret_key))
    try:
        assert svc.db.upgrade()  # a fresh database: every migration applies
        assert svc.db.current_version() >= 1
        assert state.get(svc.db, 1, "nothing") is None  # an ordinary query runs too
        assert svc.db.engine.dialect.driver == "psycopg2"
        assert PASSWORD not in str(svc.db.url) and PASSWORD not in repr(svc.db.engine)
    finally:
        svc.close()
    assert PASSWORD not in caplog.text


def test_sqlite_urls_still_work(tmp_path: Path, secret_key: str) -> None:
    svc = Services(make_settings(tmp_path, f"sqlite:///{tmp_path / 'c.db'}", secret_key))
    try:
        assert svc.db.upgrade()
        assert svc.db.engine.dialect.name == "sqlite"
    finally:
        svc.close()


def test_an_unreadable_url_is_a_configuration_error_without_the_password() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Database(f"postgresql://postgres:{PASSWORD}@127.0.0.1:notaport/x")
    assert "CONNECTOR_DATABASE_URL" in str(caught.value)
    assert PASSWORD not in str(caught.value)
