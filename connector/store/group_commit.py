"""Group commit: the notifications that arrive together are stored in one transaction, each caller waiting for
the commit that holds its own.

Intake is mostly transactions: per notification a round trip or three, a commit and its WAL flush. A webhook
receiver has many requests in flight at once (gunicorn threads), so one committer thread per process takes
whatever has queued while the previous commit ran and stores it as one batch (inbox.record_notifications).
Under load the batches grow by themselves; alone, a request waits for one transaction, as it would without the
group. Nothing is acknowledged before it is durable: `record` returns only after the commit that stored it.

A batch that fails for a reason of its own (not the database being away) is retried one notification at a
time, so one bad notification cannot refuse the others.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from dataclasses import dataclass, field

from sqlalchemy.engine import Connection

from connector.errors import StorageUnavailable
from connector.store import inbox
from connector.store.db import Database

log = logging.getLogger(__name__)
MAX_BATCH = 256  # notifications in one transaction
WAIT = 30.0  # seconds a caller waits for its commit before it answers "retry later"


def _taken() -> threading.Lock:
    lock = threading.Lock()
    lock.acquire()
    return lock


@dataclass
class _Waiting:
    notification: inbox.Notification
    done: threading.Lock = field(default_factory=_taken)  # released once answered (lighter than an Event)
    accepted: inbox.Accepted | None = None
    error: BaseException | None = None


class GroupCommit:
    """One committer thread per process (started on first use, again after a fork), shared by all requests."""

    def __init__(self, db: Database, max_batch: int = MAX_BATCH) -> None:
        self.db = db
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queue: queue.SimpleQueue[_Waiting] = queue.SimpleQueue()
        self._pid: int | None = None
        self._conn: Connection | None = None  # the committer's own, kept open: no pool checkout per group

    def record(self, notification: inbox.Notification) -> inbox.Accepted:
        """Store the notification (in the next group) and return what was stored, once it is committed."""
        waiting = _Waiting(notification)
        self._queue_for_this_process().put(waiting)
        if not waiting.done.acquire(timeout=WAIT):
            # It may still commit; Basware's retry is then answered as a duplicate. Nothing is lost either way.
            raise StorageUnavailable("the database did not commit in time")
        if waiting.error is not None:
            raise waiting.error
        assert waiting.accepted is not None
        return waiting.accepted

    def _queue_for_this_process(self) -> queue.SimpleQueue[_Waiting]:
        with self._lock:
            if self._pid != os.getpid():  # first use, or a forked child: threads do not survive a fork
                self._pid = os.getpid()
                self._conn = None  # a parent's connection is the parent's
                self._queue = queue.SimpleQueue()
                threading.Thread(target=self._run, args=(self._queue,), name="group-commit", daemon=True).start()
            return self._queue

    def _run(self, waiting: queue.SimpleQueue[_Waiting]) -> None:
        while True:
            batch = [waiting.get()]
            while len(batch) < self.max_batch:
                try:
                    batch.append(waiting.get_nowait())
                except queue.Empty:
                    break
            self._commit(batch)

    def _store(self, notifications: list[inbox.Notification]) -> list[inbox.Accepted]:
        """One transaction on the committer's connection; a connection found dead is replaced once."""
        for attempt in (1, 2):
            try:
                if self._conn is None:
                    self._conn = self.db.connect()
                with self.db.begin_on(self._conn) as conn:
                    return inbox.store_notifications(conn, notifications)
            except StorageUnavailable:  # perhaps only this connection (a database restarted since): a new one
                self._drop_connection()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - it is being let go because it failed
                log.debug("closing a failed group-commit connection failed too", exc_info=True)

    def _commit(self, batch: list[_Waiting]) -> None:
        try:
            answers = self._store([w.notification for w in batch])
            for item, accepted in zip(batch, answers, strict=True):
                item.accepted = accepted
        except StorageUnavailable as exc:  # the database is away: every request in the group answers 503
            for item in batch:
                item.error = exc
        except Exception:  # noqa: BLE001 - something in the group itself: store them one by one
            if len(batch) == 1:
                log.exception("step=receive could not record a notification")
                batch[0].error = StorageUnavailable("the notification could not be recorded")
            else:
                for item in batch:
                    self._commit([item])
                return
        for item in batch:
            item.done.release()
