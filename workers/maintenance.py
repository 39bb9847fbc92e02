"""Beat's maintenance tasks for the Exact grant: keep-alive refreshes and re-consent reminders.

Each task takes a database lease first, so a second beat started by mistake does no harm; still, run only
one beat.
"""

from __future__ import annotations

from connector.store.locks import held_or_skip
from connector.sync import grants, reminders
from workers.app import app
from workers.context import services


@app.task(name="connector.refresh_exact_tokens")
def refresh_exact_tokens() -> int:
    """Keep every live grant fresh so that a quiet month does not let the refresh token expire."""
    svc = services()
    with held_or_skip(svc.db, "beat:refresh_exact_tokens", ttl=600) as mine:
        return grants.keep_alive(svc) if mine else 0


@app.task(name="connector.reauth_reminder_sweep")
def reauth_reminder_sweep() -> int:
    """Remind operators of grants that die within five days, or are dead, once a day per tenant."""
    svc = services()
    with held_or_skip(svc.db, "beat:reauth_reminder_sweep", ttl=600) as mine:
        return reminders.sweep(svc) if mine else 0
