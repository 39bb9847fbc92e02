"""The one shape of a blocking problem: which line, which field, which codes, what is wrong, what exists instead."""

from __future__ import annotations

from typing import Any


def problem(
    row: int | None,
    field: str,
    basware_code: str | None,
    mapped_code: str | None,
    text: str,
    suggestions: list[str] | None = None,
) -> dict[str, Any]:
    """A problem as records, the audit, the CLI and the dashboard keep and show it (row None: the whole record)."""
    return {
        "row": row,
        "field": field,
        "basware_code": basware_code,
        "mapped_code": mapped_code,
        "problem": text,
        "suggestions": suggestions or [],
    }
