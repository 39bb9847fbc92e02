"""What keeps the unit tier pure: sockets, processes and databases refused for the length of a test.

Tests that need any of these belong in tests/contract (a client against a sandbox over HTTP) or
tests/integration (real databases, brokers, workers, servers).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy


class NotAUnitTest(AssertionError):
    """Raised when a unit test reaches for the network, a process or a database."""


def _refuse(what: str, original: Callable[..., Any], test_thread: int) -> Callable[..., Any]:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() != test_thread:
            # A background thread of a session fixture from another tier (a sandbox retrying a webhook, say):
            # not this test's doing, so it goes ahead.
            return original(*args, **kwargs)
        raise NotAUnitTest(f"a unit test must not {what}: move it to tests/integration or tests/contract")

    return refuse


def refuse_impurities(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make opening a socket, starting or forking a process, or opening a database fail the test (on its thread)."""
    test_thread = threading.get_ident()
    targets: list[tuple[Any, str, str]] = [
        *((socket.socket, name, f"open a socket ({name})") for name in ("connect", "connect_ex", "bind")),
        (subprocess.Popen, "__init__", "start a process"),
        (os, "fork", "fork a process"),
        (sqlalchemy, "create_engine", "open a database"),
        (sqlite3, "connect", "open a database"),
    ]
    for owner, name, what in targets:
        monkeypatch.setattr(owner, name, _refuse(what, getattr(owner, name), test_thread))
