"""Mapping tables as CSV (`kind,source,target`): read with every bad line named, written back the same way.

Pure: text in, rows and problems out; the store applies the rows all at once or not at all.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass

HEADER = ("kind", "source", "target")
MAX_LENGTH = 200  # the mappings table's source and target columns


@dataclass(frozen=True)
class CsvProblem:
    """One bad line of a mapping CSV file (line 1 is the header)."""

    line: int
    problem: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.problem}"


def read_csv(text: str, kinds: Iterable[str]) -> tuple[list[tuple[str, str, str]], list[CsvProblem]]:
    """(kind, source, target) rows of a mapping CSV and every problem found; use the rows only without problems."""
    allowed = tuple(kinds)
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))  # spreadsheets like to start with a BOM
    header = next(reader, None)
    if header is None or tuple(cell.strip().lower() for cell in header) != HEADER:
        return [], [CsvProblem(1, f"the header must be {','.join(HEADER)}, found {','.join(header or [])!r}")]
    rows: list[tuple[str, str, str]] = []
    problems: list[CsvProblem] = []
    seen: dict[tuple[str, str], tuple[int, str]] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # blank lines are harmless
        row, problem = _row(cells, allowed)
        if problem is None and row is not None:
            problem = _duplicate(row, line, seen)
        if problem is not None:
            problems.append(CsvProblem(line, problem))
        elif row is not None:
            rows.append(row)
    return rows, problems


def _row(cells: list[str], kinds: tuple[str, ...]) -> tuple[tuple[str, str, str] | None, str | None]:
    if len(cells) != len(HEADER):
        return None, f"expected 3 values (kind,source,target), found {len(cells)}"
    kind, source, target = (cell.strip() for cell in cells)
    problem = value_problem(kind, source, target, kinds)
    return (None, problem) if problem else ((kind, source, target), None)


def value_problem(kind: str, source: str, target: str, kinds: tuple[str, ...]) -> str | None:
    """What is wrong with one mapping (a CSV line or a form), or None: the one set of rules for both."""
    if kind not in kinds:
        return f"unknown kind {kind!r}; use one of {', '.join(kinds)}"
    if not source or not target:
        return "source (the Basware code) and target (the Exact code) must both be given"
    if len(source) > MAX_LENGTH or len(target) > MAX_LENGTH:
        return f"source and target are at most {MAX_LENGTH} characters"
    if kind == "division" and not target.isdigit():
        return f"a division mapping's target is an Exact division number (e.g. 3141592), not {target!r}"
    return None


def _duplicate(row: tuple[str, str, str], line: int, seen: dict[tuple[str, str], tuple[int, str]]) -> str | None:
    key = (row[0], row[1])
    if key in seen and seen[key][1] != row[2]:
        return f"{row[0]} {row[1]} is mapped to {seen[key][1]} on line {seen[key][0]} and to {row[2]} here"
    seen.setdefault(key, (line, row[2]))
    return None


def write_csv(rows: Iterable[tuple[str, str, str]]) -> str:
    """The rows as a mapping CSV that `read_csv` (and `mappings import`) accepts."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    writer.writerows(rows)
    return out.getvalue()
