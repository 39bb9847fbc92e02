"""Both sandboxes as a test reaches them, and one of either of a test's own next to the session's other."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from connector.sandbox.basware import BaswareSandbox
from connector.sandbox.exact import ExactSandbox
from connector.sandbox.server import ServerThread


@dataclass
class Sandboxes:
    exact: ExactSandbox
    basware: BaswareSandbox
    exact_url: str
    basware_url: str


@contextmanager
def own_exact_next_to(shared: Sandboxes, exact: ExactSandbox, app: Any = None) -> Iterator[Sandboxes]:
    """`exact` served for one test (through `app`, a wrapper of its app, when given) beside the shared Basware."""
    with ServerThread(app or exact.app) as server:
        yield Sandboxes(exact, shared.basware, server.url, shared.basware_url)


@contextmanager
def own_basware_next_to(shared: Sandboxes, basware: BaswareSandbox | None = None) -> Iterator[Sandboxes]:
    """A fresh Basware sandbox (or `basware`) served for one test or module beside the shared Exact."""
    basware = basware or BaswareSandbox()
    with ServerThread(basware.app) as server:
        yield Sandboxes(shared.exact, basware, shared.exact_url, server.url)
