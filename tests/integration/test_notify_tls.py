"""E-mail to operators: verified TLS, and never a password without it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from connector.config import load_settings
from connector.notify import Notifier, requires_tls
from tests.support import Mailbox, free_port

SMTP_PASSWORD = "smtp-password-never-in-clear"


@dataclass
class Recipient:
    name: str = "acme"
    notify_email: str | None = "ops@example.test"
    notify_webhook_url: str | None = None


@dataclass
class Authenticator:
    """Records every credential a client sent (a server that would accept AUTH without TLS)."""

    seen: list[Any] = field(default_factory=list)

    def __call__(self, _server: Any, _session: Any, _envelope: Any, mechanism: str, data: Any) -> AuthResult:
        self.seen.append((mechanism, data))
        return AuthResult(success=True)


@contextmanager
def plain_smtp_with_auth() -> Iterator[tuple[Mailbox, Authenticator, int]]:
    box, auth, port = Mailbox(), Authenticator(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=auth, auth_require_tls=False)
    controller.start()
    try:
        yield box, auth, port
    finally:
        controller.stop()


def notifier(tmp_path: Path, port: int, host: str = "127.0.0.1", **extra: str) -> Notifier:
    env = {
        "CONNECTOR_DATA_DIR": str(tmp_path),
        "CONNECTOR_SMTP_HOST": host,
        "CONNECTOR_SMTP_PORT": str(port),
        **extra,
    }
    return Notifier(load_settings(env))


def test_a_password_is_never_sent_to_a_server_without_tls(tmp_path: Path) -> None:
    with plain_smtp_with_auth() as (box, auth, port):
        sender = notifier(tmp_path, port, CONNECTOR_SMTP_USER="ops", CONNECTOR_SMTP_PASSWORD=SMTP_PASSWORD)
        delivery = sender.send(Recipient(), "Exact consent", "renew it")
    assert auth.seen == [] and box.messages == []
    assert delivery.sent == [] and "TLS" in delivery.failed[0] and SMTP_PASSWORD not in delivery.failed[0]


def test_a_loopback_relay_without_tls_or_password_still_delivers(tmp_path: Path) -> None:
    with plain_smtp_with_auth() as (box, _auth, port):
        delivery = notifier(tmp_path, port).send(Recipient(), "Exact consent", "renew it")
    assert delivery.sent == ["email"] and len(box.messages) == 1


@pytest.mark.parametrize(
    ("host", "password", "required"),
    [
        ("127.0.0.1", False, False),
        ("localhost", False, False),
        ("127.0.0.1", True, True),
        ("smtp.example", False, True),
    ],
)
def test_tls_is_required_off_this_machine_and_with_any_password(host: str, password: bool, required: bool) -> None:
    assert requires_tls(host, has_password=password) is required
