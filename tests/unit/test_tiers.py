"""The unit tier refuses what would make a unit test an integration test: sockets, processes, databases."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from connector.sandbox.server import ServerThread
from connector.store.db import Database
from tests.support.purity import NotAUnitTest


def _http_call() -> object:
    return requests.get("http://127.0.0.1:9/", timeout=1)


def _server() -> object:
    return ServerThread(lambda _environ, _start: [b""]).__enter__()


def _listen() -> object:
    with socket.socket() as sock:
        return sock.bind(("127.0.0.1", 0))


def _process() -> object:
    return subprocess.run([sys.executable, "-c", "pass"], check=True)


def _sqlite(tmp: Path) -> object:
    return sqlite3.connect(tmp / "unit.db")


@pytest.mark.parametrize("reach", [_http_call, _server, _listen, _process], ids=["http", "server", "bind", "process"])
def test_a_unit_test_cannot_reach_the_network_or_start_a_process(reach: Callable[[], object]) -> None:
    with pytest.raises(NotAUnitTest):
        reach()


def test_a_unit_test_cannot_open_a_database(tmp_path: Path) -> None:
    with pytest.raises(NotAUnitTest):
        _sqlite(tmp_path)
    with pytest.raises(NotAUnitTest):
        Database(f"sqlite:///{tmp_path / 'unit.db'}")
