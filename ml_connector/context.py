"""What every command shares: the Services of this one command, built on first use and closed when it ends.

Commands take a `Context` instead of reaching for a process-wide instance, so that a command that needs no
database (`health`, `keys generate`, `demo`) never opens one, and a test can hand the CLI its own Services.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from connector.sync.services import Services
from connector.wiring import build_services


class Context:
    """The command's Services: given by the caller, or built from the environment when first asked for."""

    def __init__(self, services: Services | None = None) -> None:
        self._services = services
        self._owned = services is None

    @property
    def services(self) -> Services:
        """The Services; the first use builds them from the environment (settings and key checked then)."""
        if self._services is None:
            self._services = build_services()
        return self._services

    def close(self) -> None:
        """Release what this context built; Services handed in stay open for their owner."""
        if self._owned and self._services is not None:
            self._services.close()
            self._services = None


def print_json(value: Any) -> None:
    """JSON on stdout, Decimals as strings."""
    print(json.dumps(value, indent=2, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """A plain text table, columns as wide as their widest cell."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for index, row in enumerate(cells):
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            print("  ".join("-" * width for width in widths))
