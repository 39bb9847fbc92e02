"""The Services of this worker process: built once per process, after the fork, never shared with the parent.

Celery's prefork pool forks its children from the main process; a database pool copied across a fork would be
shared by two processes, so the Services are keyed by process id and a child builds its own on first use (at
`worker_process_init`, see workers.app, so that wrong settings fail the process at start).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from connector.sync.services import Services
from connector.wiring import build_services

_lock = threading.Lock()
_built: tuple[int, Services] | None = None


def services() -> Services:
    """This process's Services, built from the environment on first use in this process."""
    global _built
    with _lock:
        if _built is None or _built[0] != os.getpid():
            _built = (os.getpid(), build_services())
        return _built[1]


def close() -> None:
    """Release this process's Services (at worker process shutdown)."""
    global _built
    with _lock:
        if _built is not None and _built[0] == os.getpid():
            _built[1].close()
        _built = None


@contextmanager
def using(svc: Services) -> Iterator[Services]:
    """Run task bodies in this process on `svc` (a test that calls a task's `run()` in-process)."""
    global _built
    with _lock:
        before, _built = _built, (os.getpid(), svc)
    try:
        yield svc
    finally:
        with _lock:
            _built = before
