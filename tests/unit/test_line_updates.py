"""Planning line operations on a document already in Exact: pure, so a retry plans only what is left."""

from __future__ import annotations

from decimal import Decimal as D

from connector.sync import line_updates


def exact_line(line_id: str, number: int, amount: str, gl: str = "gl-1", **more: object) -> dict[str, object]:
    return {"ID": line_id, "LineNumber": number, "GLAccount": gl, "AmountFC": D(amount), **more}


def want(amount: str, gl: str = "gl-1") -> dict[str, object]:
    return {"GLAccount": gl, "AmountFC": D(amount)}


def test_changed_added_and_removed_lines_become_put_post_and_delete_in_that_order() -> None:
    current = [exact_line("a", 1, "10.00"), exact_line("b", 2, "20.00"), exact_line("c", 3, "30.00")]
    desired = {"1": want("10.00"), "2": want("25.00"), "4": want("40.00")}

    plan = line_updates.plan(desired, {"1": "a", "2": "b", "3": "c"}, current)

    assert [(op.action, op.key, op.line_id) for op in plan.ops] == [
        ("post", "4", None),
        ("put", "2", "b"),
        ("delete", "3", "c"),
    ]
    assert plan.of("put")[0].text == "line 2 changed: AmountFC 20.00 -> 25.00"


def test_nothing_to_do_when_exact_already_holds_the_new_version() -> None:
    current = [exact_line("a", 1, "10.00", Description="chairs")]
    assert line_updates.plan({"1": {**want("10.00"), "Description": "chairs"}}, {"1": "a"}, current).ops == ()


def test_a_line_posted_by_an_interrupted_run_is_adopted_not_posted_again() -> None:
    current = [exact_line("a", 1, "10.00"), exact_line("new", 2, "40.00")]  # 'new' landed, its id was not kept

    plan = line_updates.plan({"1": want("10.00"), "2": want("40.00")}, {"1": "a"}, current)

    assert [(op.action, op.line_id) for op in plan.ops] == [("adopt", "new")]


def test_a_line_in_exact_that_we_did_not_write_stops_the_plan() -> None:
    current = [exact_line("a", 1, "10.00"), exact_line("by-hand", 2, "99.00")]

    plan = line_updates.plan({"1": want("12.00")}, {"1": "a"}, current)

    assert plan.ops == () and plan.problem is not None and "by hand" in plan.problem


def test_line_ids_of_an_older_write_are_found_by_line_number_when_every_line_still_matches() -> None:
    current = [exact_line("b", 2, "20.00"), exact_line("a", 1, "10.00")]
    assert line_updates.align(["1", "2"], [want("10.00"), want("20.00")], current) == {"1": "a", "2": "b"}
    assert line_updates.align(["1", "2"], [want("10.00"), want("21.00")], current) is None


def test_exact_dates_and_padded_codes_compare_with_ours() -> None:
    got = {"ReceiptDate": "/Date(1796083200000)/", "VATCode": "1  ", "GLAccount": "ABC-DEF"}
    assert line_updates.differing({"ReceiptDate": "2026-12-01", "VATCode": "1", "GLAccount": "abc-def"}, got) == []
