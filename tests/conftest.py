"""Fixtures shared by every layer: real PostgreSQL and Redis, settings, a key for secrets at rest."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis

from connector.config import Settings, load_settings
from connector.crypto import generate_key
from connector.sync.services import Services
from connector.wiring import build_services
from tests.support import Mailbox, WebhookInbox, running_mailbox, running_webhook

# Anything that reads settings at import time (celeryconfig) must not write into the work tree.
os.environ.setdefault("CONNECTOR_DATA_DIR", tempfile.mkdtemp(prefix="mlc-tests-"))

PG_ADMIN_URL = os.environ.get("TEST_PG_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
PG_URL_TEMPLATE = os.environ.get("TEST_PG_URL_TEMPLATE", "postgresql+psycopg2://postgres@127.0.0.1:5432/{name}")
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/{db}")
REDIS_TEST_DB = int(os.environ.get("TEST_REDIS_DB", "11"))


def _admin(statement: str) -> None:
    conn = psycopg2.connect(PG_ADMIN_URL)
    conn.autocommit = True
    try:
        with conn.cursor() as cursor:
            cursor.execute(statement)
    finally:
        conn.close()


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database for the test session, dropped at the end."""
    name = f"mlc_test_{uuid.uuid4().hex[:10]}"
    _admin(f"CREATE DATABASE {name}")
    try:
        yield PG_URL_TEMPLATE.format(name=name)
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis database; sessions share it, each with queues of its own (see `celery_queue`)."""
    return REDIS_URL.format(db=REDIS_TEST_DB)


@pytest.fixture(scope="session")
def celery_queue(redis_url: str) -> Iterator[str]:
    """A queue name for this session only, so parallel sessions never take each other's tasks."""
    name = f"connector-test-{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    client.delete(name)
    client.close()


@pytest.fixture(scope="session")
def secret_key() -> str:
    return generate_key()


def make_settings(data_dir: Path, database_url: str, secret_key: str, broker_url: str = "memory://") -> Settings:
    """Settings as a process would read them from this environment."""
    return load_settings(
        {
            "CONNECTOR_DATA_DIR": str(data_dir),
            "CONNECTOR_DATABASE_URL": database_url,
            "CONNECTOR_SECRET_KEY": secret_key,
            "CELERY_BROKER_URL": broker_url,
        }
    )


@pytest.fixture(scope="session")
def pg_services(pg_url: str, secret_key: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Services]:
    """Services on the session's PostgreSQL database, schema upgraded."""
    svc = build_services(make_settings(tmp_path_factory.mktemp("pg-data"), pg_url, secret_key))
    svc.db.upgrade()
    yield svc
    svc.close()


@pytest.fixture(scope="session")
def pg_template(secret_key: str) -> Iterator[str]:
    """A migrated database (made with the session's key) to copy: CREATE DATABASE … TEMPLATE is quick."""
    name = f"mlc_tpl_{uuid.uuid4().hex[:10]}"
    _admin(f"CREATE DATABASE {name}")
    folder = Path(tempfile.mkdtemp(prefix="mlc-tpl-"))
    svc = build_services(make_settings(folder, PG_URL_TEMPLATE.format(name=name), secret_key))
    svc.db.upgrade()
    svc.close()
    try:
        yield name
    finally:
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def private_pg_services(pg_template: str, secret_key: str, tmp_path: Path) -> Iterator[Services]:
    """Services on a PostgreSQL database of this test's own, which the session's worker does not see.

    For receiver tests whose broker is a stand-in: the session worker's dispatcher publishes every event in
    the session database, so their events would otherwise be taken and processed under them.
    """
    name = f"mlc_own_{uuid.uuid4().hex[:10]}"
    _admin(f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    svc = build_services(make_settings(tmp_path, PG_URL_TEMPLATE.format(name=name), secret_key))
    try:
        yield svc
    finally:
        svc.close()
        _admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def sqlite_services(tmp_path: Path, secret_key: str) -> Iterator[Services]:
    """Services on the embedded default: SQLite in a temporary data folder."""
    svc = build_services(make_settings(tmp_path, f"sqlite:///{tmp_path / 'connector.db'}", secret_key))
    svc.db.upgrade()
    yield svc
    svc.close()


@pytest.fixture
def mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a loopback port, and what it received."""
    with running_mailbox() as running:
        yield running


@pytest.fixture
def webhook() -> Iterator[tuple[WebhookInbox, str]]:
    """A real chat webhook receiver, and its URL."""
    with running_webhook() as running:
        yield running
