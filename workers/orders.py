"""Beat and chain tasks for orders (filled in by its issue)."""

from __future__ import annotations

from workers.app import app  # noqa: F401 - tasks register on import
