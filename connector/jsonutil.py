"""JSON with exact money: numbers parse to `Decimal` and `Decimal` is written as a bare JSON number."""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from decimal import Decimal
from typing import Any

_MARK = "\u0000dec:"
_MARKED = re.compile(r'"\\u0000dec:(-?[0-9.Ee+-]+)"')


def _mark(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{_MARK}{value}"
    if isinstance(value, dict):
        return {key: _mark(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(item) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def dumps(value: Any) -> str:
    """Serialise to compact JSON; a `Decimal` becomes a number with exactly its own digits."""
    if isinstance(value, float) or _has_float(value):
        raise TypeError("refusing to serialise a float: money must be Decimal")
    return _MARKED.sub(r"\1", json.dumps(_mark(value), separators=(",", ":"), ensure_ascii=True))


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_has_float(item) for item in value)
    return False


def loads(text: str | bytes) -> Any:
    """Parse JSON; every non-integer number becomes a `Decimal`, never a float."""
    return json.loads(text, parse_float=Decimal)
