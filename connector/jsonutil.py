"""JSON with exact money: numbers parse to `Decimal` and `Decimal` is written as a bare JSON number."""

from __future__ import annotations

import json
import re
import secrets
from datetime import date, datetime
from decimal import Decimal
from typing import Any


def _mark(value: Any, mark: str) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"refusing to serialise {value}: not a finite amount")
        return f"{mark}{value}"
    if isinstance(value, dict):
        return {key: _mark(item, mark) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_mark(item, mark) for item in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def dumps(value: Any) -> str:
    """Serialise to compact JSON; a `Decimal` becomes a number with exactly its own digits.

    Decimals travel through `json` as marked strings and are unmarked afterwards. The mark is new on every
    call, so no text in the data (a Basware field can hold anything) can pass itself off as a number.
    """
    if isinstance(value, float) or _has_float(value):
        raise TypeError("refusing to serialise a float: money must be Decimal")
    token = secrets.token_hex(8)
    marked = re.compile(rf'"\\u0000dec{token}:(-?[0-9.Ee+-]+)"')
    text = json.dumps(_mark(value, f"\u0000dec{token}:"), separators=(",", ":"), ensure_ascii=True)
    return marked.sub(r"\1", text)


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
