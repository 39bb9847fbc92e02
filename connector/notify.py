"""Tell an operator something needs them: e-mail over SMTP and/or a chat webhook (JSON {"text": ...}).

Channels are per tenant (`notify_email`, `notify_webhook_url`); the SMTP server is per process (settings).
A failed channel is reported back, never raised: the caller decides whether to try again later. Webhook URLs
often carry a secret in their path, so only their host is ever logged.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import urlparse

import requests

from connector.config import Settings
from connector.transport import is_loopback

log = logging.getLogger(__name__)
TIMEOUT = 10.0


class Recipient(Protocol):
    """Who to tell: a tenant's name and its channels."""

    @property
    def name(self) -> str: ...

    @property
    def notify_email(self) -> str | None: ...

    @property
    def notify_webhook_url(self) -> str | None: ...


@dataclass
class Delivery:
    """Which channels took the message and which did not (with a reason safe to show)."""

    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


class Notifier:
    """Sends one message through every channel a tenant has configured."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def __repr__(self) -> str:
        return f"Notifier(smtp_host={self._settings.smtp_host!r})"

    def send(self, recipient: Recipient, subject: str, text: str) -> Delivery:
        """Try each configured channel once; a tenant without channels gets an empty Delivery."""
        delivery = Delivery()
        if recipient.notify_email:
            self._attempt(delivery, "email", lambda: self._email(recipient.notify_email or "", subject, text))
        if recipient.notify_webhook_url:
            url = recipient.notify_webhook_url
            self._attempt(delivery, "webhook", lambda: _post_webhook(url, f"{subject}\n{text}"))
        return delivery

    def _attempt(self, delivery: Delivery, channel: str, action: Callable[[], None]) -> None:
        try:
            action()
        except NotificationError as exc:
            reason = f"{channel}: {exc}"
            log.warning("notification failed (%s)", reason)
            delivery.failed.append(reason)
        except (OSError, smtplib.SMTPException, requests.RequestException) as exc:
            # Only the exception's type: requests' messages quote the URL, which may hold a secret.
            reason = f"{channel}: {type(exc).__name__}"
            log.warning("notification failed (%s)", reason)
            delivery.failed.append(reason)
        else:
            delivery.sent.append(channel)

    def _email(self, to: str, subject: str, text: str) -> None:
        settings = self._settings
        if not settings.smtp_host:
            raise NotificationError("CONNECTOR_SMTP_HOST is not set")
        message = EmailMessage()
        message["From"] = settings.smtp_from
        message["To"] = to
        message["Subject"] = subject
        message.set_content(text)
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT) as smtp:
            smtp.ehlo()
            if smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())  # verified: certificate and host name
                smtp.ehlo()
            elif requires_tls(settings.smtp_host, has_password=bool(settings.smtp_user)):
                raise NotificationError(f"{settings.smtp_host} offers no TLS (STARTTLS); nothing sent")
            if settings.smtp_user:
                smtp.login(settings.smtp_user, settings.smtp_password or "")
            smtp.send_message(message)


def requires_tls(host: str, *, has_password: bool) -> bool:
    """TLS is required for any login, and for any server off this machine (a local relay may go without)."""
    return has_password or not is_loopback(f"smtp://{host}")


class NotificationError(Exception):
    """A channel refused the message (kept inside this module; `send` reports it)."""


def _post_webhook(url: str, text: str) -> None:
    response = requests.post(url, json={"text": text}, timeout=TIMEOUT)
    with response:
        if response.status_code >= 300:
            raise NotificationError(f"{urlparse(url).hostname} answered HTTP {response.status_code}")
