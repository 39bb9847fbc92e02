"""Building blocks for the Basware contract tests: a sandbox on a real port, a clock, a webhook receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask import Flask, request

from connector.basware.auth import ClientCredentialsAuth
from connector.basware.client import BaswareClient
from connector.sandbox.basware import BaswareSandbox, make_invoice
from connector.sandbox.server import ServerThread
from tests.support import FakeClock

CLIENT_ID = "ml-connector-test"
CLIENT_SECRET = "sandbox-secret-do-not-print"


@dataclass
class Basware:
    """A running sandbox and a client pointed at it."""

    sandbox: BaswareSandbox
    server: ServerThread
    client: BaswareClient
    clock: FakeClock


@contextmanager
def running_basware(**sandbox_options: Any) -> Iterator[Basware]:
    """A sandbox on a loopback port with one registered client, torn down (sockets closed) afterwards."""
    clock = FakeClock()
    sandbox = BaswareSandbox(clock=clock, **sandbox_options)
    sandbox.register_client(CLIENT_ID, CLIENT_SECRET)
    with ServerThread(sandbox.app) as server:
        auth = ClientCredentialsAuth(server.url, CLIENT_ID, CLIENT_SECRET, clock=clock)
        client = BaswareClient(server.url, CLIENT_ID, CLIENT_SECRET, timeout=10, auth=auth)
        with client:
            auth._session = client.session  # share the connection pool (and its closing) with the client
            yield Basware(sandbox, server, client, clock)


def add_invoices(sandbox: BaswareSandbox, count: int, **options: Any) -> list[str]:
    """Add `count` simple invoices (one coding row each) and return their ids in order."""
    ids = []
    for number in range(1, count + 1):
        row = ("4000", "CC10", "V21", Decimal("21"), Decimal(f"{number}00.10"), Decimal(f"{number}.01"))
        ids.append(sandbox.add_invoice(make_invoice(f"INV-{number:03}", "S100", "Acme", [row], **options)))
    return ids


@dataclass
class Receiver:
    """What a tiny webhook receiver saw; `status` is what it answers."""

    url: str = ""
    status: int = 200
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@contextmanager
def webhook_receiver(status: int = 200) -> Iterator[Receiver]:
    """A Flask app in a thread that records every POST (raw body and headers) and answers `status`."""
    receiver = Receiver(status=status)
    app = Flask("test_receiver")

    @app.post("/hooks/basware")
    def hook() -> tuple[bytes, int]:
        with receiver.lock:
            receiver.received.append({"body": request.get_data(), "headers": dict(request.headers)})
        return request.get_data(), receiver.status

    with ServerThread(app) as server:
        receiver.url = server.url + "/hooks/basware"
        yield receiver
