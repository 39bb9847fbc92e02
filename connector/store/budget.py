"""Where Exact's call budget lives between processes: a database row, or a Redis key when Redis is the broker.

Both apply a governor step atomically: the database holds the row's lock for the step (SELECT ... FOR UPDATE on
PostgreSQL; on SQLite every transaction already starts with BEGIN IMMEDIATE), Redis retries the step under
WATCH/MULTI until no other process changed the key in between. The rules themselves live in
`connector.exact.governor`, once, for both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, TypeVar

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from connector.errors import StorageUnavailable
from connector.exact.governor import Window
from connector.store.db import Database, exact_budget

R = TypeVar("R")
REDIS_PREFIX = "mlc:exact-budget:"
REDIS_TTL = 3 * 86400  # a budget nobody used for days is forgotten; a new one starts from Exact's headers


class DbBudgetStore:
    """Budgets as rows of `exact_budget`, changed under the row's lock."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def change(self, key: str, step: Callable[[Window | None], tuple[Window, R]]) -> R:
        """Apply `step` to the stored window atomically; returns its result."""
        with self.db.begin() as conn:
            current = _locked(conn, key)
            window, result = step(current)
            if current is not None:
                conn.execute(exact_budget.update().where(exact_budget.c.key == key).values(**asdict(window)))
                return result
            try:
                with conn.begin_nested():
                    conn.execute(exact_budget.insert().values(key=key, **asdict(window)))
                return result
            except sa.exc.IntegrityError:  # another process made the row a moment ago: decide again on its row
                window, result = step(_locked(conn, key))
                conn.execute(exact_budget.update().where(exact_budget.c.key == key).values(**asdict(window)))
                return result

    def read(self, key: str) -> Window | None:
        """The stored window, or None."""
        with self.db.begin() as conn:
            row = conn.execute(sa.select(exact_budget).where(exact_budget.c.key == key)).first()
        return _window(row._mapping) if row is not None else None


def _locked(conn: Connection, key: str) -> Window | None:
    row = conn.execute(sa.select(exact_budget).where(exact_budget.c.key == key).with_for_update()).first()
    return _window(row._mapping) if row is not None else None


def _window(row: Any) -> Window:
    return Window(**{name: row[name] for name in Window.__dataclass_fields__})


class RedisBudgetStore:
    """Budgets as Redis keys (JSON), changed under WATCH/MULTI; fast enough to ask before every call."""

    def __init__(self, client: redis.Redis) -> None:
        self.client = client

    @classmethod
    def from_url(cls, url: str) -> RedisBudgetStore:
        """A store on the Redis the broker uses."""
        return cls(redis.Redis.from_url(url))

    def change(self, key: str, step: Callable[[Window | None], tuple[Window, R]]) -> R:
        """Apply `step` to the stored window atomically; returns its result."""
        name = REDIS_PREFIX + key
        try:
            with self.client.pipeline() as pipe:
                while True:
                    try:
                        pipe.watch(name)
                        window, result = step(_decode(pipe.get(name)))
                        pipe.multi()
                        pipe.set(name, json.dumps(asdict(window)), ex=REDIS_TTL)
                        pipe.execute()
                        return result
                    except redis.WatchError:  # another process changed it meanwhile: decide again
                        continue
        except redis.RedisError as exc:
            raise StorageUnavailable(f"Redis unavailable for Exact's rate limit: {type(exc).__name__}") from exc

    def read(self, key: str) -> Window | None:
        """The stored window, or None."""
        try:
            return _decode(self.client.get(REDIS_PREFIX + key))
        except redis.RedisError as exc:
            raise StorageUnavailable(f"Redis unavailable for Exact's rate limit: {type(exc).__name__}") from exc

    def close(self) -> None:
        """Close the connection pool."""
        self.client.close()


def _decode(raw: Any) -> Window | None:
    return Window(**json.loads(raw)) if raw else None
