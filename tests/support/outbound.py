"""What the connector sends out to operators, caught by real local servers: an SMTP mailbox, a chat webhook."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from connector import jsonutil
from connector.config import load_settings
from connector.sandbox.server import ServerThread
from connector.sync.services import Services
from connector.wiring import build_services


@dataclass
class Mailbox:
    """What a real local SMTP server received: (to, subject, body) per message."""

    messages: list[tuple[str, str, str]] = field(default_factory=list)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's name
        message = message_from_bytes(envelope.content)
        body = message.get_payload(decode=True).decode()
        self.messages.append((",".join(envelope.rcpt_tos), str(message["Subject"]), body))
        return "250 OK"


@dataclass
class WebhookInbox:
    """A chat incoming-webhook stand-in: a WSGI app that keeps every JSON body posted to it."""

    bodies: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        with self.lock:
            self.bodies.append(jsonutil.loads(environ["wsgi.input"].read(length)))
        start_response(f"{self.status} X", [("Content-Type", "text/plain")])
        return [b"ok"]

    def texts(self) -> list[str]:
        with self.lock:
            return [body["text"] for body in self.bodies]


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running_mailbox() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on a loopback port."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


@contextmanager
def running_webhook() -> Iterator[tuple[WebhookInbox, str]]:
    """A chat webhook receiver; its URL has a secret-looking path, as Slack's and Teams' do."""
    inbox = WebhookInbox()
    with ServerThread(inbox) as server:
        yield inbox, f"{server.url}/hooks/T000/secret-path"


def smtp_services(data_dir: Path, database_url: str, secret_key: str, smtp_port: int) -> Services:
    """Services whose notifier sends through the local SMTP server."""
    settings = load_settings(
        {
            "CONNECTOR_DATA_DIR": str(data_dir),
            "CONNECTOR_DATABASE_URL": database_url,
            "CONNECTOR_SECRET_KEY": secret_key,
            "CELERY_BROKER_URL": "memory://",
            "CONNECTOR_SMTP_HOST": "127.0.0.1",
            "CONNECTOR_SMTP_PORT": str(smtp_port),
            "CONNECTOR_SMTP_FROM": "connector@example.test",
        }
    )
    return build_services(settings)
