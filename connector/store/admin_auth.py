"""The dashboard's people in the database: users with password hashes, sessions by hash, failed sign-ins.

Kept in the database, not in a process, so that every gunicorn worker sees the same sessions and the same
count of failures: a throttle held in one worker's memory is bypassed by landing on another.
"""

from __future__ import annotations

import time

import sqlalchemy as sa

from connector.store.db import Database, admin_sessions, admin_users, sign_in_failures


def put_user(db: Database, name: str, password_hash: str) -> bool:
    """Store a user's hash, adding the user if new; True when the user was new."""
    now = time.time()
    with db.begin() as conn:
        changed = conn.execute(
            admin_users.update().where(admin_users.c.name == name).values(password_hash=password_hash, updated_at=now)
        ).rowcount
        if changed:  # a new password ends every session opened with the old one
            conn.execute(admin_sessions.delete().where(admin_sessions.c.user_name == name))
            return False
        row = {"name": name, "password_hash": password_hash, "created_at": now, "updated_at": now}
        conn.execute(admin_users.insert().values(**row))
    return True


def password_hash(db: Database, name: str) -> str | None:
    """The stored hash of a user, None when there is no such user."""
    with db.begin() as conn:
        return conn.execute(sa.select(admin_users.c.password_hash).where(admin_users.c.name == name)).scalar()


def user_names(db: Database) -> list[str]:
    """Every user, by name."""
    with db.begin() as conn:
        names = conn.execute(sa.select(admin_users.c.name).order_by(admin_users.c.name)).scalars()
        return [str(name) for name in names]


def remove_user(db: Database, name: str) -> bool:
    """Remove a user and end every session of theirs; True when there was one."""
    with db.begin() as conn:
        conn.execute(admin_sessions.delete().where(admin_sessions.c.user_name == name))
        return bool(conn.execute(admin_users.delete().where(admin_users.c.name == name)).rowcount)


def has_users(db: Database) -> bool:
    """True when at least one dashboard user exists."""
    with db.begin() as conn:
        return conn.execute(sa.select(admin_users.c.name).limit(1)).first() is not None


# --- sessions ---------------------------------------------------------------------------------------------


def open_session(db: Database, id_hash: str, user_name: str, now: float) -> None:
    """Remember a signed-in session by the hash of its cookie."""
    with db.begin() as conn:
        row = {"id_hash": id_hash, "user_name": user_name, "created_at": now, "last_seen": now}
        conn.execute(admin_sessions.insert().values(**row))


def session_user(db: Database, id_hash: str, *, now: float, idle: float, lifetime: float) -> str | None:
    """The user of a live session (and mark it seen), or None when unknown, idle too long or too old."""
    with db.begin() as conn:
        row = conn.execute(sa.select(admin_sessions).where(admin_sessions.c.id_hash == id_hash)).first()
        if row is None:
            return None
        if row.last_seen < now - idle or row.created_at < now - lifetime:
            conn.execute(admin_sessions.delete().where(admin_sessions.c.id_hash == id_hash))
            return None
        conn.execute(admin_sessions.update().where(admin_sessions.c.id_hash == id_hash).values(last_seen=now))
        return str(row.user_name)


def close_session(db: Database, id_hash: str) -> None:
    """Forget a session (sign-out)."""
    with db.begin() as conn:
        conn.execute(admin_sessions.delete().where(admin_sessions.c.id_hash == id_hash))


def forget_expired_sessions(db: Database, *, now: float, idle: float) -> int:
    """Delete sessions idle longer than `idle`; returns how many."""
    with db.begin() as conn:
        return int(conn.execute(admin_sessions.delete().where(admin_sessions.c.last_seen < now - idle)).rowcount)


# --- failed sign-ins --------------------------------------------------------------------------------------


def note_failure(db: Database, keys: list[str], now: float) -> None:
    """Count one failed sign-in against each key (the user named and the address it came from)."""
    with db.begin() as conn:
        conn.execute(sign_in_failures.insert(), [{"key": key, "at": now} for key in keys])


def failures_since(db: Database, key: str, since: float) -> int:
    """How many failed sign-ins a key has had since `since`."""
    query = sa.select(sa.func.count()).where(sign_in_failures.c.key == key, sign_in_failures.c.at >= since)
    with db.begin() as conn:
        return int(conn.execute(query).scalar() or 0)


def clear_failures(db: Database, key: str) -> None:
    """Forget a key's failures (a user who signed in correctly)."""
    with db.begin() as conn:
        conn.execute(sign_in_failures.delete().where(sign_in_failures.c.key == key))


def forget_old_failures(db: Database, before: float) -> None:
    """Delete failures older than the throttle's window; they no longer count."""
    with db.begin() as conn:
        conn.execute(sign_in_failures.delete().where(sign_in_failures.c.at < before))
