"""The one recipe every edge uses to build its Services, so that each wires the same callbacks.

There is deliberately no process-wide instance: the CLI builds one per command, each worker process one after
the fork, the receiver one per app, the demo and the benchmark their own. This module sits above `connector.sync`
so that `Services` need not import the steps that react to what its clients find (a dead grant).
"""

from __future__ import annotations

from connector.config import Settings
from connector.sync import reminders
from connector.sync.services import Services


def build_services(settings: Settings | None = None) -> Services:
    """Services from `settings` (default: the environment); a grant found dead tells the operator at once."""
    return Services(settings, on_grant_dead=reminders.grant_died)
