"""Reading an Exact sandbox collection: `$filter`, `$orderby`, `$top`, `$select`, `$expand`, `$inlinecount`, paging.

Sourced (docs/api-facts.md, Exact: OData queries): regular pages hold 60 rows and end with a `__next` link that
carries a `$skiptoken`; `$inlinecount=allpages` adds the total, as a string, in `d.__count`; endpoints with a
sync counterpart demand a `$filter` naming one of a list of fields.
Decision (ours): unknown properties in `$select` or `$orderby` answer 400.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote, urlencode

from flask import Response, request

from connector.sandbox.exact.odata_filter import SYNTAX_ERROR, FilterParser, Predicate, QueryError, sort_key
from connector.sandbox.exact.state import Table
from connector.sandbox.exact.wire import ApiFailure, EntitySet, json_response, to_wire

MODELS = "Exact.Web.Api.Models."


def mandatory_filter_message(fields: tuple[str, ...]) -> str:
    """Exact's answer to a GET without a filter on an endpoint with mandatory filtering."""
    return (
        "This endpoint has mandatory filtering applied. A GET request for this endpoint must have a $filter "
        "parameter with one of the following fields in the url:" + ",".join(fields) + "."
    )


def read(
    number: int, entity: EntitySet, rows: Table, key: str | None, *, page_size: int, lines: EntitySet | None = None
) -> Response:
    """A GET on a collection (one page) or on one row by key."""
    if key is not None:
        row = next((r for r in rows if r[entity.key] == key), None)
        if row is None:
            raise ApiFailure(404, "Not found")
        return json_response({"d": render(number, entity, row, lines=lines)})
    page, next_key, total = query(entity, rows, page_size)
    body: dict[str, Any] = {"results": [render(number, entity, row, lines=lines) for row in page]}
    if request.args.get("$inlinecount") == "allpages":
        body["__count"] = str(total)  # a string, as Exact sends it
    if next_key is not None:
        body["__next"] = next_link(number, entity, next_key)
    return json_response({"d": body})


def query(entity: EntitySet, rows: Table, page_size: int) -> tuple[Table, str | None, int]:
    """Filter, order, cap with $top, then cut one page after $skiptoken; the page, the next key, how many in all."""
    args = request.args
    text = args.get("$filter")
    if entity.mandatory_filter and not text:
        raise ApiFailure(400, mandatory_filter_message(entity.mandatory_filter))
    matched = list(rows)
    if text:
        parser, predicate = compile_filter(text, entity)
        if entity.mandatory_filter and not parser.referenced & set(entity.mandatory_filter):
            raise ApiFailure(400, mandatory_filter_message(entity.mandatory_filter))
        matched = [row for row in matched if predicate(row)]
    matched = _order(matched, args.get("$orderby"), entity)
    if args.get("$top"):
        matched = matched[: _int_arg(args["$top"])]
    start = _skip_to(matched, args.get("$skiptoken"), entity.key)
    page = matched[start : start + page_size]
    more = start + page_size < len(matched)
    return page, (page[-1][entity.key] if more else None), len(matched)


def compile_filter(text: str, entity: EntitySet) -> tuple[FilterParser, Predicate]:
    """The parser (for the fields it referenced) and the predicate of a `$filter`; 400 when it is wrong."""
    try:
        parser = FilterParser(text, set(entity.fields))
        return parser, parser.parse()
    except QueryError as exc:
        raise ApiFailure(400, str(exc)) from None


def next_link(number: int, entity: EntitySet, last_key: str) -> str:
    """The `__next` URL: the same query with a `$skiptoken` after the page's last key."""
    params = [(name, value) for name, value in request.args.items() if name != "$skiptoken"]
    params.append(("$skiptoken", f"guid'{last_key}'"))
    query_text = urlencode(params, quote_via=quote, safe="$'(),")
    return f"{request.host_url}api/v1/{number}/{entity.path}?{query_text}"


def uri(number: int, entity: EntitySet, key: str) -> str:
    """The URI of one row, as its `__metadata` names it."""
    return f"{request.host_url}api/v1/{number}/{entity.path}(guid'{key}')"


def render(
    number: int, entity: EntitySet, row: dict[str, Any], *, lines: EntitySet | None = None, expand: bool = False
) -> dict[str, Any]:
    """One row on the wire: selected properties, /Date()/ dates, metadata, and its lines expanded or deferred."""
    row_uri = uri(number, entity, row[entity.key])
    names = entity.fields + ((entity.navigation,) if entity.navigation else ())
    out = select(row, request.args.get("$select"), names)
    if entity.navigation and lines is not None and entity.navigation in out:
        expanded = expand or entity.navigation in {n.strip() for n in request.args.get("$expand", "").split(",")}
        out[entity.navigation] = (
            {"results": [render_line(number, lines, line) for line in row[entity.navigation]]}
            if expanded
            else {"__deferred": {"uri": f"{row_uri}/{entity.navigation}"}}
        )
    out["__metadata"] = {"uri": row_uri, "type": MODELS + entity.type_name}
    return out


def render_line(number: int, lines: EntitySet, line: dict[str, Any]) -> dict[str, Any]:
    """A line inside its header: every property, with its own URI."""
    out = {name: to_wire(line.get(name)) for name in lines.fields}
    out["__metadata"] = {"uri": uri(number, lines, line[lines.key]), "type": MODELS + lines.type_name}
    return out


def select(row: dict[str, Any], wanted_text: str | None, names: tuple[str, ...]) -> dict[str, Any]:
    """The `$select`ed properties of a row (all when none asked); 400 for a property the set lacks."""
    wanted = [name.strip() for name in wanted_text.split(",")] if wanted_text else list(names)
    unknown = [name for name in wanted if name not in names]
    if unknown:
        raise ApiFailure(400, f"Property '{unknown[0]}' does not exist.")
    return {name: to_wire(row.get(name)) for name in wanted}


def _int_arg(text: str) -> int:
    if not text.isdigit():
        raise ApiFailure(400, SYNTAX_ERROR)
    return int(text)


def _order(rows: Table, orderby: str | None, entity: EntitySet) -> Table:
    if not orderby:
        return rows
    for term in reversed([part.strip() for part in orderby.split(",")]):
        name, _, direction = term.partition(" ")
        if name not in entity.fields or direction.strip().lower() not in ("", "asc", "desc"):
            raise ApiFailure(400, SYNTAX_ERROR)
        rows = sorted(rows, key=lambda row: sort_key(row.get(name)), reverse=direction.strip() == "desc")
    return rows


def _skip_to(rows: Table, token: str | None, key: str) -> int:
    if not token:
        return 0
    match = re.fullmatch(r"guid'([0-9A-Fa-f-]{36})'", token)
    if match is None:
        raise ApiFailure(400, SYNTAX_ERROR)
    wanted = match.group(1).lower()
    for index, row in enumerate(rows):
        if row[key] == wanted:
            return index + 1
    return len(rows)
