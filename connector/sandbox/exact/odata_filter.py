"""OData `$filter` for the Exact sandbox: a small recursive-descent parser producing a predicate over rows.

Decision (ours): text comparisons are case-insensitive, as SQL Server's default collation makes them in Exact
(docs/api-facts.md, Exact: OData queries). Anything the parser does not know answers Exact's syntax error.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

SYNTAX_ERROR = "Bad Request - Error in query syntax."

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<typed>(?:guid|datetime|datetimeoffset)'(?:[^']|'')*')
      | (?P<string>'(?:[^']|'')*')
      | (?P<number>-?\d+(?:\.\d+)?[LlMmDd]?)
      | (?P<name>[A-Za-z_][A-Za-z0-9_/]*)
      | (?P<punct>[(),])
    )""",
    re.VERBOSE | re.IGNORECASE,
)
_COMPARE = {"eq", "ne", "gt", "lt", "ge", "le"}


class QueryError(Exception):
    """A query option the sandbox (like Exact) refuses with 400."""


Row = dict[str, Any]
Getter = Callable[[Row], Any]
Predicate = Callable[[Row], bool]


def _tokenize(text: str) -> list[tuple[str, str]]:
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise QueryError(SYNTAX_ERROR)
        kind = match.lastgroup or ""
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


class FilterParser:
    """Parse `$filter` into a predicate; `fields` is the set of property names the entity has."""

    def __init__(self, text: str, fields: set[str]) -> None:
        self._tokens = _tokenize(text)
        self._pos = 0
        self._fields = fields
        self.referenced: set[str] = set()

    def parse(self) -> Callable[[Row], bool]:
        """The predicate for the whole expression; raises QueryError on anything unknown."""
        predicate = self._or()
        if self._pos != len(self._tokens):
            raise QueryError(SYNTAX_ERROR)
        return predicate

    def _peek(self) -> tuple[str, str] | None:
        return self._tokens[self._pos] if self._pos < len(self._tokens) else None

    def _take(self) -> tuple[str, str]:
        token = self._peek()
        if token is None:
            raise QueryError(SYNTAX_ERROR)
        self._pos += 1
        return token

    def _accept_word(self, word: str) -> bool:
        token = self._peek()
        if token and token[0] == "name" and token[1].lower() == word:
            self._pos += 1
            return True
        return False

    def _expect(self, punct: str) -> None:
        if self._take() != ("punct", punct):
            raise QueryError(SYNTAX_ERROR)

    def _or(self) -> Callable[[Row], bool]:
        left = self._and()
        while self._accept_word("or"):
            right = self._and()
            left = (lambda a, b: lambda row: a(row) or b(row))(left, right)
        return left

    def _and(self) -> Callable[[Row], bool]:
        left = self._unary()
        while self._accept_word("and"):
            right = self._unary()
            left = (lambda a, b: lambda row: a(row) and b(row))(left, right)
        return left

    def _unary(self) -> Callable[[Row], bool]:
        if self._accept_word("not"):
            inner = self._unary()
            return lambda row: not inner(row)
        if self._peek() == ("punct", "("):
            self._take()
            inner = self._or()
            self._expect(")")
            return self._maybe_compare(lambda row: inner(row))
        return self._comparison()

    def _comparison(self) -> Callable[[Row], bool]:
        left = self._operand()
        token = self._peek()
        if token and token[0] == "name" and token[1].lower() in _COMPARE:
            self._take()
            right = self._operand()
            return _compare(token[1].lower(), left, right)
        return lambda row: left(row) is True  # a bare boolean function such as substringof(...)

    def _maybe_compare(self, inner: Callable[[Row], bool]) -> Callable[[Row], bool]:
        token = self._peek()
        if token and token[0] == "name" and token[1].lower() in _COMPARE:
            self._take()
            return _compare(token[1].lower(), inner, self._operand())
        return inner

    def _operand(self) -> Getter:
        kind, text = self._take()
        if kind == "typed":
            return _constant(_typed_literal(text))
        if kind == "string":
            return _constant(text[1:-1].replace("''", "'"))
        if kind == "number":
            return _constant(_number(text))
        if kind == "name":
            return self._name(text)
        raise QueryError(SYNTAX_ERROR)

    def _name(self, text: str) -> Getter:
        lowered = text.lower()
        if lowered in ("true", "false"):
            return _constant(lowered == "true")
        if lowered == "null":
            return _constant(None)
        if self._peek() == ("punct", "("):
            return self._function(lowered)
        if text not in self._fields:
            raise QueryError(SYNTAX_ERROR)
        self.referenced.add(text)
        return lambda row: row.get(text)

    def _function(self, name: str) -> Getter:
        self._expect("(")
        args = [self._operand()]
        while self._peek() == ("punct", ","):
            self._take()
            args.append(self._operand())
        self._expect(")")
        return _function(name, args)


def _function(name: str, args: list[Getter]) -> Getter:
    unary: dict[str, Callable[[str], str]] = {"trim": str.strip, "tolower": str.lower, "toupper": str.upper}
    if name in unary and len(args) == 1:
        fn, arg = unary[name], args[0]
        return lambda row: fn(arg(row)) if isinstance(arg(row), str) else arg(row)
    if name in ("substringof", "startswith", "endswith") and len(args) == 2:
        return _text_function(name, args[0], args[1])
    raise QueryError(SYNTAX_ERROR)


def _text_function(name: str, first: Getter, second: Getter) -> Getter:
    def evaluate(row: Row) -> bool:
        a, b = first(row), second(row)
        if not isinstance(a, str) or not isinstance(b, str):
            return False
        a, b = a.lower(), b.lower()
        if name == "substringof":  # substringof('needle', Field)
            return a in b
        return a.startswith(b) if name == "startswith" else a.endswith(b)

    return evaluate


def _constant(value: Any) -> Getter:
    return lambda row: value


def _number(text: str) -> Decimal:
    return Decimal(text.rstrip("LlMmDd"))


def _typed_literal(text: str) -> Any:
    prefix, _, quoted = text.partition("'")
    value = quoted[:-1].replace("''", "'")
    if prefix.lower() == "guid":
        try:
            return str(uuid.UUID(value))
        except ValueError as exc:
            raise QueryError(SYNTAX_ERROR) from exc
    return parse_iso_datetime(value, error=QueryError(SYNTAX_ERROR))


def _comparable(value: Any) -> Any:
    # SQL Server's default collation compares text case-insensitively; GUIDs compare as values.
    if isinstance(value, str):
        return value.lower()
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return Decimal(value)
    return value


_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "lt": lambda a, b: a < b,
    "ge": lambda a, b: a >= b,
    "le": lambda a, b: a <= b,
}


def _compare(op: str, left: Getter, right: Getter) -> Callable[[Row], bool]:
    fn = _OPERATORS[op]

    def evaluate(row: Row) -> bool:
        a, b = _comparable(left(row)), _comparable(right(row))
        if a is None or b is None:
            return fn(a, b) if op in ("eq", "ne") else False
        try:
            return bool(fn(a, b))
        except TypeError:
            return False

    return evaluate


def parse_iso_datetime(value: str, *, error: Exception) -> datetime:
    """'YYYY-MM-DD' or an ISO timestamp (optionally with Z or an offset) as an aware UTC datetime."""
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise error from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def sort_key(value: Any) -> tuple[int, Any]:
    """How `$orderby` sorts a value: nulls first, text without regard to case."""
    return (0, "") if value is None else (1, _comparable(value))
