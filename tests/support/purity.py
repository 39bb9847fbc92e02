"""What keeps the unit tier pure: sockets, processes and databases refused for the length of a test.

Tests that need any of these belong in tests/contract (a client against a sandbox over HTTP) or
tests/integration (real databases, brokers, workers, servers).
"""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy


class NotAUnitTest(AssertionError):
    """Raised when a unit test reaches for the network, a process or a database."""


def _refuse(what: str) -> Callable[..., Any]:
    def refuse(*_args: Any, **_kwargs: Any) -> Any:
        raise NotAUnitTest(f"a unit test must not {what}: move it to tests/integration or tests/contract")

    return refuse


def refuse_impurities(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make opening a socket, starting or forking a process, or opening a database fail the test."""
    for name in ("connect", "connect_ex", "bind"):
        monkeypatch.setattr(socket.socket, name, _refuse(f"open a socket ({name})"))
    monkeypatch.setattr(subprocess.Popen, "__init__", _refuse("start a process"))
    monkeypatch.setattr(os, "fork", _refuse("fork a process"))
    monkeypatch.setattr(sqlalchemy, "create_engine", _refuse("open a database"))
    monkeypatch.setattr(sqlite3, "connect", _refuse("open a database"))
