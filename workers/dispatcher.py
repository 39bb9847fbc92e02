"""The inbox dispatcher: every worker puts the chains of committed notifications on the broker.

The receiver answers Basware once a notification is committed to the inbox and publishes nothing itself (a
Celery publish cost more than the rest of a request). Each worker's main process runs one dispatcher thread
that claims unpublished events (FOR UPDATE SKIP LOCKED, so several workers share them), publishes their
chains and marks them, in batches, at most IDLE seconds after they were committed. A broker that is down
leaves the events in the inbox, retried with a growing pause; nothing is lost and Basware is not kept waiting.

The thread has its own database engine, never the one forked pool children build (workers.context): a pool
child forked later inherits the engine's connections, and `dispose(close=False)` there lets them go without
closing the parent's sessions.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from typing import Any

from celery import bootsteps

from connector.config import load_settings
from connector.errors import StorageUnavailable
from connector.store import inbox
from connector.store.db import Database

log = logging.getLogger(__name__)
IDLE = 0.25  # seconds between looks at the inbox when it was empty
MAX_PAUSE = 5.0  # the longest pause after a failure (broker or database away)


def run(db: Database, publish: Callable[[int], None], stop: threading.Event, idle: float = IDLE) -> None:
    """Dispatch until `stop` is set: at once again after a full batch, after `idle` when the inbox was empty."""
    pause = idle
    while not stop.is_set():
        try:
            sent = inbox.dispatch(db, publish)
            pause = 0.0 if sent >= inbox.DISPATCH_BATCH else idle
        except (inbox.BrokerUnavailable, StorageUnavailable) as exc:  # events stay in the inbox meanwhile
            pause = min(max(pause, idle) * 2, MAX_PAUSE)
            log.error("step=dispatch %s; next try in %.1f s", exc, pause)
        except Exception:  # noqa: BLE001 - anything else (a database not migrated yet): the thread must live on
            pause = MAX_PAUSE
            log.exception("step=dispatch failed; next try in %.1f s", pause)
        stop.wait(pause)


class Dispatcher(bootsteps.StartStopStep):
    """A worker bootstep: the dispatcher thread starts after the pool (its first children are forked already).

    Made with `step(publish)`, which gives it the function that puts a record's chain on the broker.
    """

    requires = {"celery.worker.components:Pool"}
    publish: Callable[[int], None]

    def __init__(self, worker: Any, **kwargs: Any) -> None:
        super().__init__(worker, **kwargs)
        self.stop_event = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self, worker: Any) -> None:
        db = Database(load_settings().database_url)
        os.register_at_fork(after_in_child=lambda: db.engine.dispose(close=False))
        self.stop_event.clear()
        self.thread = threading.Thread(
            target=run, args=(db, type(self).publish, self.stop_event), name="inbox-dispatcher", daemon=True
        )
        self.thread.start()

    def stop(self, worker: Any) -> None:
        self.stop_event.set()
        if self.thread is not None:
            self.thread.join(10)


def step(publish: Callable[[int], None]) -> type[Dispatcher]:
    """The bootstep class for `app.steps["worker"].add(...)`, publishing with `publish`."""
    return type("InboxDispatcher", (Dispatcher,), {"publish": staticmethod(publish)})
