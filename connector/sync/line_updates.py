"""Changing the lines of a document already in Exact, the way Exact allows: one line at a time.

Exact refuses a header PUT that carries new lines (docs/api-facts.md#exact-purchase-entries), so a later version
is applied as line operations: PUT for a line whose fields changed, POST for a line added (where the kind's
line resource takes one), DELETE for a line removed. Each of our lines is known by the key of the Basware row
it came from (an invoice's row index, an order's line number); `Plan.line_ids` remembers which Exact line id
each key was written as.

Planning is pure: it compares what we want with what Exact holds now, so running it again after a partial
failure plans only what is left. A line added by an earlier, interrupted run (POSTed, its id not yet kept) is
recognised by its fields and adopted rather than posted twice. A line in Exact that we did not write stops the
plan: someone changed the document by hand, and a person has to decide.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from connector.exact import odata

Line = Mapping[str, Any]
Action = Literal["adopt", "post", "put", "delete"]
# Applied in this order: added lines first and removed ones last, so the document never has no line at all.
ORDER: tuple[Action, ...] = ("adopt", "post", "put", "delete")


@dataclass(frozen=True)
class LineOp:
    """One operation on one line; `fields` is what is sent (POST and PUT), `text` what the audit says."""

    action: Action
    key: str
    line_id: str | None
    fields: Mapping[str, Any]
    text: str


@dataclass(frozen=True)
class LinePlan:
    """The operations that make Exact's lines what we want, or why they cannot be planned."""

    ops: tuple[LineOp, ...]
    problem: str | None = None

    def of(self, action: Action) -> list[LineOp]:
        """The operations of one kind."""
        return [op for op in self.ops if op.action == action]


def plan(desired: Mapping[str, Line], ids: Mapping[str, str], current: Iterable[Line]) -> LinePlan:
    """What to do so Exact's lines (`current`, with their `ID`) are the `desired` ones, key by key.

    `ids` says which Exact line each key was written as. Lines of ours are PUT when a desired field differs,
    keys without a line are POSTed (or adopted when an unclaimed Exact line already equals them), and lines
    whose key is no longer desired are deleted.
    """
    by_id = {str(line["ID"]).lower(): line for line in current}
    ours = {key: line_id.lower() for key, line_id in ids.items() if line_id and line_id.lower() in by_id}
    unclaimed = {line_id: line for line_id, line in by_id.items() if line_id not in ours.values()}
    ops: list[LineOp] = []
    for key, want in desired.items():
        if key in ours:
            changed = differing(want, by_id[ours[key]])
            if changed:
                ops.append(LineOp("put", key, ours[key], want, f"line {key} changed: {', '.join(changed)}"))
            continue
        twin = next((line_id for line_id, line in unclaimed.items() if not differing(want, line)), None)
        if twin is not None:
            unclaimed.pop(twin)
            ops.append(LineOp("adopt", key, twin, want, f"line {key} found in Exact from an interrupted run"))
        else:
            ops.append(LineOp("post", key, None, want, f"line {key} added"))
    ops.extend(
        LineOp("delete", key, line_id, {}, f"line {key} removed") for key, line_id in ours.items() if key not in desired
    )
    if unclaimed:
        count = len(unclaimed)
        return LinePlan((), f"{count} line(s) in Exact were not written by the connector (changed there by hand)")
    return LinePlan(tuple(sorted(ops, key=lambda op: ORDER.index(op.action))))


def align(keys: Iterable[str], written: Iterable[Line], current: Iterable[Line]) -> dict[str, str] | None:
    """Which Exact line each key is, for a document written before line ids were kept: Exact's lines in
    `LineNumber` order must equal the lines we wrote, in order; None when they do not (changed by hand)."""
    ordered = sorted(current, key=lambda line: int(line.get("LineNumber") or 0))
    keys, written = list(keys), list(written)
    if len(ordered) != len(written) or any(differing(want, got) for want, got in zip(written, ordered, strict=True)):
        return None
    return {key: str(line["ID"]).lower() for key, line in zip(keys, ordered, strict=True)}


def differing(want: Line, got: Line) -> list[str]:
    """The fields of `want` whose value Exact (`got`) holds differently, e.g. `AmountFC 10.00 -> 12.00`."""
    return [f"{name} {got.get(name)} -> {value}" for name, value in want.items() if not _same(value, got.get(name))]


def apply(
    ops: Iterable[LineOp], send: Callable[[LineOp], str | None], done: Callable[[LineOp, str | None], None]
) -> None:
    """Carry out the operations in order; `done` is told each one (with the line id it now has) as it lands,
    so what was done is kept even when a later one fails."""
    for op in ops:
        done(op, op.line_id if op.action == "adopt" else send(op))


def _same(want: Any, got: Any) -> bool:
    if want is None or want == "":
        return got is None or got == ""
    if isinstance(got, str) and got.startswith("/Date("):  # Exact's dates; ours are ISO dates
        parsed = odata.parse_date(got)
        return parsed is not None and parsed.date().isoformat() == str(want)[:10]
    if isinstance(want, Decimal) or isinstance(got, Decimal):
        try:
            return Decimal(str(want)) == Decimal(str(got))
        except InvalidOperation:
            return False
    return str(want).strip().lower() == str(got if got is not None else "").strip().lower()
