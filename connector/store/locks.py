"""Leases shared by every process through the database: single-flight token refresh, beat runs, vendor creation.

A lease expires by itself, so a process that dies while holding one blocks the others only until then.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from connector.errors import StorageUnavailable
from connector.store.db import Database, locks

HOST_CHARS = 24


def new_owner() -> str:
    """A unique name for the lease holder that says which process, in which pid namespace and boot, took it."""
    # The hostname is only for people reading the table (cut to fit the 80-character column); the boot id and
    # the pid namespace are what identify the machine and container.
    return f"{socket.gethostname()[:HOST_CHARS]}:{os.getpid()}:{uuid.uuid4().hex[:8]}:{_process_identity()}"


def is_dead_owner(owner: str | None) -> bool:
    """True only when the holder provably died: same host, boot and pid namespace, and its process is gone.

    Two containers can share a hostname and reuse each other's pids, so a pid means something only inside its
    own pid namespace; a recycled pid is told apart by the process start time. Anything we cannot prove
    (another host or namespace, no /proc) is never judged dead: its lease simply expires.
    """
    if not owner:
        return False
    parts = owner.split(":")
    if len(parts) != 4 or parts[0] != socket.gethostname()[:HOST_CHARS] or not parts[1].isdigit():
        return False
    namespace, _, started = parts[3].rpartition("/")
    mine = _process_identity().rpartition("/")[0]
    if not namespace or namespace == "unknown" or namespace != mine:
        return False
    return _start_time(int(parts[1])) != started


def _process_identity() -> str:
    """boot id, pid namespace and this process's start time, or "unknown" where /proc cannot say."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            boot_id = boot.read().strip()
        namespace = os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return "unknown"
    return f"{boot_id[:8]}.{namespace}/{_start_time(os.getpid())}"


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (field 22 of /proc/PID/stat), None when gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            fields = stat.read().rpartition(")")[2].split()
    except OSError:
        return None
    return fields[19] if len(fields) > 19 else None


def try_acquire(db: Database, name: str, owner: str, ttl: float, now: float | None = None) -> bool:
    """Take the lease if it is free, expired or held by a provably dead process; True when this owner holds it.

    A worker killed with SIGKILL never releases its leases: without the dead-holder check a master-data
    refresh lease (300 s) would hold every validation of the tenant back for minutes.
    """
    now = time.time() if now is None else now
    with db.begin() as conn:
        free = sa.or_(locks.c.expires_at < now, locks.c.owner == owner)
        holder = conn.execute(sa.select(locks.c.owner).where(locks.c.name == name)).scalar()
        if is_dead_owner(holder):
            free = sa.or_(free, locks.c.owner == holder)
        taken = conn.execute(
            locks.update().where(locks.c.name == name).where(free).values(owner=owner, expires_at=now + ttl)
        ).rowcount
        if taken:
            return True
        exists = conn.execute(sa.select(locks.c.name).where(locks.c.name == name)).first()
        if exists is None:
            try:
                with conn.begin_nested():
                    conn.execute(locks.insert().values(name=name, owner=owner, expires_at=now + ttl))
                return True
            except sa.exc.IntegrityError:
                return False
    return False


def release(db: Database, name: str, owner: str) -> None:
    """Give the lease back, only if this owner still holds it."""
    with db.begin() as conn:
        conn.execute(locks.delete().where(locks.c.name == name).where(locks.c.owner == owner))


@contextmanager
def lease(db: Database, name: str, *, ttl: float = 60.0, wait: float = 30.0, poll: float = 0.05) -> Iterator[str]:
    """Hold a named lease for the block, waiting up to `wait` seconds for it."""
    owner = new_owner()
    deadline = time.monotonic() + wait
    while not try_acquire(db, name, owner, ttl):
        if time.monotonic() >= deadline:
            raise StorageUnavailable(f"lock {name!r} is held by another process")
        time.sleep(poll)
    try:
        yield owner
    finally:
        release(db, name, owner)


@contextmanager
def held_or_skip(db: Database, name: str, *, ttl: float) -> Iterator[bool]:
    """Try a lease once: True inside the block when taken, False when another process holds it."""
    owner = new_owner()
    taken = try_acquire(db, name, owner, ttl)
    try:
        yield taken
    finally:
        if taken:
            release(db, name, owner)
