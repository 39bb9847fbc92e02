"""The Basware token is shared through the database: one fetch serves every client, a refused one is renewed once."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from connector.basware.auth import ClientCredentialsAuth
from connector.basware.client import BaswareClient
from connector.sandbox.basware import BaswareSandbox
from connector.sandbox.server import ServerThread
from connector.store.basware_tokens import DbBaswareTokenStore
from connector.store.db import basware_tokens
from connector.sync.services import Services
from tests.support import plain_tenant

pytestmark = pytest.mark.integration
CLIENT_ID, SECRET = "bw-shared", "bw-shared-secret"


@pytest.fixture
def basware() -> Iterator[tuple[BaswareSandbox, str]]:
    sandbox = BaswareSandbox()
    sandbox.register_client(CLIENT_ID, SECRET)
    with ServerThread(sandbox.app) as server:
        yield sandbox, server.url


def client(url: str, store: DbBaswareTokenStore) -> BaswareClient:
    """A client as one worker process would build it: its own in-process cache, the shared store behind it."""
    auth = ClientCredentialsAuth(url, CLIENT_ID, SECRET, store=store)
    return BaswareClient(url, CLIENT_ID, SECRET, auth=auth)


def test_clients_share_one_token_and_renew_a_refused_one_once(
    sqlite_services: Services, basware: tuple[BaswareSandbox, str]
) -> None:
    sandbox, url = basware
    tenant = plain_tenant(sqlite_services)
    store = DbBaswareTokenStore(sqlite_services.db, sqlite_services.box, tenant.id)
    with client(url, store) as first, client(url, store) as second:
        first.ping()
        second.ping()
        assert sandbox.token_calls == 1  # the second worker used the stored token

        sandbox.revoke_tokens()  # Basware rotated its keys: every token is refused with 401
        first.ping()  # renews once after the 401, and stores the new token
        second.ping()  # its cached token is refused too; it finds the renewed one in the store
        assert sandbox.token_calls == 2


def test_the_shared_token_is_encrypted_and_capped_at_the_configured_lifetime(
    sqlite_services: Services, basware: tuple[BaswareSandbox, str]
) -> None:
    _sandbox, url = basware
    tenant = plain_tenant(sqlite_services)
    store = DbBaswareTokenStore(sqlite_services.db, sqlite_services.box, tenant.id)
    auth = ClientCredentialsAuth(url, CLIENT_ID, SECRET, store=store, max_lifetime=120)
    token = auth.token()
    stored = store.load()
    assert stored is not None and stored[0] == token
    assert stored[1] - time.time() <= 120  # Basware said 3600 s; the operator allows 120
    with sqlite_services.db.begin() as conn:
        raw = conn.execute(sa.select(basware_tokens.c.access_token)).scalar_one()
    assert token not in raw
