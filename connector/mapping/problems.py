"""The one shape of a blocking problem and its one renderer.

A `Problem` names which line, which field, which codes, what is wrong and what exists instead. It is kept on
the record (and in the audit) as a plain dict, `as_dict()`, the structured form the dashboard and JSON output
read; `text()` is how the CLI, the audit and a record's reason say it in words. Problems read back from
storage may come from older versions or from the Basware parser (only `field` and `problem`), so `from_dict`
fills in what is missing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from connector.errors import RecordBlocked


@dataclass(frozen=True)
class Problem:
    """What stops a record from being posted; `row` None means the whole document."""

    row: int | None
    field: str
    basware_code: str | None
    mapped_code: str | None
    text: str
    suggestions: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """The stored and JSON form; the keys are those records and the dashboard have always used."""
        return {
            "row": self.row,
            "field": self.field,
            "basware_code": self.basware_code,
            "mapped_code": self.mapped_code,
            "problem": self.text,
            "suggestions": list(self.suggestions),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Problem:
        """A stored problem back as a value; missing keys (older or parser problems) count as empty."""
        return cls(
            row=data.get("row"),
            field=str(data.get("field") or ""),
            basware_code=data.get("basware_code"),
            mapped_code=data.get("mapped_code"),
            text=str(data.get("problem") or ""),
            suggestions=tuple(data.get("suggestions") or ()),
        )

    def where(self, whole: str = "whole document") -> str:
        """'line 3', or `whole` (say 'purchase order') for a problem of the whole document."""
        return f"line {self.row}" if self.row is not None else whole

    def short(self) -> str:
        """As a record's reason lists it: 'line 1: GL account 4999 does not exist (did you mean 4000?)'."""
        where = f"line {self.row}: " if self.row is not None else ""
        hint = f" (did you mean {', '.join(self.suggestions)}?)" if self.suggestions else ""
        return f"{where}{self.text}{hint}"

    def detailed(self, *, whole: str = "whole document", label: Callable[[str], str] = str) -> str:
        """As the CLI prints it: where, which code (and what it maps to), what is wrong, close matches."""
        codes = ""
        if self.basware_code is not None:
            mapped = f" (mapped to {self.mapped_code})" if self.mapped_code not in (None, self.basware_code) else ""
            codes = f" {label(self.field)} {self.basware_code}{mapped}"
        hint = f"  (close matches: {', '.join(self.suggestions)})" if self.suggestions else ""
        return f"{self.where(whole)}{codes}: {self.text}{hint}"


def problem(
    row: int | None,
    field: str,
    basware_code: str | None,
    mapped_code: str | None,
    text: str,
    suggestions: Iterable[str] | None = None,
) -> Problem:
    """A problem (row None: the whole record)."""
    return Problem(row, field, basware_code, mapped_code, text, tuple(suggestions or ()))


def listing(problems: Iterable[Problem]) -> str:
    """Every problem in one line: 'line 1: ...; line 3: ...'."""
    return "; ".join(p.short() for p in problems)


def reason(problems: Sequence[Problem]) -> str:
    """Every problem in one line, counted: '2 problems: line 1: ...; line 3: ...'."""
    count = len(problems)
    return f"{count} problem{'s' if count > 1 else ''}: {listing(problems)}"


def blocked(problems: Sequence[Problem], message: str | None = None) -> RecordBlocked:
    """The error that blocks a record with these problems (stored in their dict form, serialised here only)."""
    return RecordBlocked(message if message is not None else reason(problems), as_dicts(problems))


def as_dicts(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    """Problems in their stored form."""
    return [p.as_dict() for p in problems]
