"""Shared test helpers, one module per concern; every name tests import is re-exported here.

- `notifications`: a Basware notification, its signature, the one way to post it to a receiver.
- `tenants`: a tenant wired to running sandboxes (and consented), or one with made-up credentials.
- `sandboxes`: both sandboxes as a test reaches them, or one of a test's own beside the shared other.
- `clocks` and `tokens`: time moved by hand, tokens made by hand, a scripted OAuth.
- `outbound`: a real SMTP mailbox and chat webhook that catch what the connector tells operators.
- `workers`: the one way to start (and stop) a real Celery worker process.
"""

from tests.support.clocks import FakeClock, early_in_a_minute
from tests.support.notifications import WEBHOOK_SECRET, notification, post_signed, post_to, signed_headers
from tests.support.outbound import (
    Mailbox,
    WebhookInbox,
    free_port,
    running_mailbox,
    running_webhook,
    smtp_services,
)
from tests.support.sandboxes import Sandboxes, own_basware_next_to, own_exact_next_to
from tests.support.tenants import (
    BASWARE_SECRET,
    EXACT_SECRET,
    VAT_MAPPINGS,
    add_sharing_tenant,
    add_tenant,
    consent,
    plain_tenant,
)
from tests.support.tokens import ScriptedOAuth, tokens
from tests.support.workers import running_worker, stop, worker_environment

__all__ = [
    "BASWARE_SECRET",
    "EXACT_SECRET",
    "VAT_MAPPINGS",
    "WEBHOOK_SECRET",
    "FakeClock",
    "Mailbox",
    "Sandboxes",
    "ScriptedOAuth",
    "WebhookInbox",
    "add_sharing_tenant",
    "add_tenant",
    "consent",
    "early_in_a_minute",
    "free_port",
    "notification",
    "own_basware_next_to",
    "own_exact_next_to",
    "plain_tenant",
    "post_signed",
    "post_to",
    "running_mailbox",
    "running_webhook",
    "running_worker",
    "signed_headers",
    "smtp_services",
    "stop",
    "tokens",
    "worker_environment",
]
