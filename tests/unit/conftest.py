"""The unit tier stays pure: a unit test that opens a socket, starts a process or opens a database fails."""

from __future__ import annotations

import pytest

from tests.support.purity import refuse_impurities


@pytest.fixture(autouse=True)
def pure(monkeypatch: pytest.MonkeyPatch) -> None:
    """Refuse sockets, subprocesses and database engines for the length of each unit test."""
    refuse_impurities(monkeypatch)
