"""Pure helpers for Exact's OData v3 dialect: literals, dates, envelopes and error bodies."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

ACCOUNT_CODE_WIDTH = 18
# Fixed-width char fields Exact pads with spaces (Account.Code on the left, the others on the right).
PADDED_FIELDS = frozenset({"Code", "VATCode", "Country", "PurchaseVATCode", "SalesVATCode", "Currency"})

_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_date(value: str | None) -> datetime | None:
    """`/Date(1382667872203)/` (epoch ms) as an aware UTC datetime; None stays None."""
    if value is None:
        return None
    match = _DATE.match(value.strip())
    if match is None:
        raise ValueError(f"not an OData date: {value!r}")
    return _EPOCH + timedelta(milliseconds=int(match.group(1)))


def format_date(value: date | datetime) -> str:
    """A date as Exact accepts it on write: 'YYYY-MM-DD' (a datetime is converted to UTC first)."""
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
        value = value.date()
    return value.isoformat()


def guid(value: str | uuid.UUID) -> str:
    """A GUID filter literal, `guid'…'`; refuses anything that is not a GUID (no injection)."""
    return f"guid'{uuid.UUID(str(value))}'"


def string(value: str) -> str:
    """A string filter literal with single quotes doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def pad_account_code(code: str | int) -> str:
    """An Account code as Exact stores it: right-aligned in 18 characters."""
    text = str(code).strip()
    if len(text) > ACCOUNT_CODE_WIDTH:
        raise ValueError(f"account code longer than {ACCOUNT_CODE_WIDTH} characters")
    return text.rjust(ACCOUNT_CODE_WIDTH)


def unwrap(payload: Any) -> list[Any] | dict[str, Any]:
    """The records inside `{"d":{"results":[…]}}`, `{"d":[…]}` or the entity inside `{"d":{…}}`."""
    if not isinstance(payload, dict) or "d" not in payload:
        raise ValueError("not an OData payload: no 'd' member")
    inner = payload["d"]
    if isinstance(inner, dict) and isinstance(inner.get("results"), list):
        return inner["results"]
    if isinstance(inner, list | dict):
        return inner
    raise ValueError("unexpected OData payload shape")


def next_link(payload: Any) -> str | None:
    """The absolute `__next` URL of a list page, or None on the last page."""
    if isinstance(payload, dict) and isinstance(payload.get("d"), dict):
        link = payload["d"].get("__next")
        return link or None
    return None


def total_count(payload: Any) -> int | None:
    """`d.__count` (a string) of a page asked for with `$inlinecount=allpages`, or None when absent."""
    if isinstance(payload, dict) and isinstance(payload.get("d"), dict):
        count = payload["d"].get("__count")
        if isinstance(count, str | int) and str(count).isdigit():
            return int(count)
    return None


def error_message(payload: Any) -> str:
    """`error.message.value` of an OData error body, or '' when the body is not one."""
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return ""
    message = payload["error"].get("message")
    if isinstance(message, dict):
        return str(message.get("value") or "")
    return str(message or "")


def nested(value: Any) -> list[dict[str, Any]]:
    """An expanded navigation property's rows (`{"results": [...]}` or a bare list); [] when deferred or absent."""
    if isinstance(value, dict) and isinstance(value.get("results"), list):
        return list(value["results"])
    return list(value) if isinstance(value, list) else []


def trim_codes(record: Any) -> Any:
    """A copy with the padding of fixed-width code fields removed, nested `results` lists included."""
    if isinstance(record, list):
        return [trim_codes(item) for item in record]
    if not isinstance(record, dict):
        return record
    out: dict[str, Any] = {}
    for key, value in record.items():
        if key in PADDED_FIELDS and isinstance(value, str):
            out[key] = value.strip()
        elif isinstance(value, dict) and isinstance(value.get("results"), list):
            out[key] = {**value, "results": trim_codes(value["results"])}
        elif isinstance(value, list):
            out[key] = trim_codes(value)
        else:
            out[key] = value
    return out
