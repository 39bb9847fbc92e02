"""Mapping CSV files: every bad line is named, and a file with any bad line applies nothing."""

from __future__ import annotations

import pytest

from connector.mapping.table import read_csv, write_csv
from connector.store.mappings import MAPPING_KINDS


def test_a_good_file_gives_its_rows_trimmed() -> None:
    text = "\ufeffkind,source,target\nvendor, V-9 ,1002\ngl_account,6100,4010\n\nvat_code,21,1\n"

    rows, problems = read_csv(text, MAPPING_KINDS)

    assert problems == []
    assert rows == [("vendor", "V-9", "1002"), ("gl_account", "6100", "4010"), ("vat_code", "21", "1")]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("source,kind,target\n", ["line 1: the header must be kind,source,target"]),
        ("", ["line 1: the header must be kind,source,target"]),
        ("kind,source,target\nsupplier,V1,1002\n", ["line 2: unknown kind 'supplier'"]),
        ("kind,source,target\nvendor,V1\n", ["line 2: expected 3 values"]),
        (
            "kind,source,target\nvendor,,1002\n",
            ["line 2: source (the Basware code) and target"],
        ),
        (
            "kind,source,target\ngl_account,6100,4010\ngl_account,6100,4020\n",
            ["line 3: gl_account 6100 is mapped to 4010 on line 2 and to 4020 here"],
        ),
        (
            "kind,source,target\nvendor,V1,1002\nbad,x,y\nvendor,V2,\ncost_center,A,B\n",
            [
                "line 3: unknown kind 'bad'",
                "line 4: source (the Basware code) and target",
            ],
        ),
    ],
)
def test_every_bad_line_is_reported_with_its_number(text: str, expected: list[str]) -> None:
    _rows, problems = read_csv(text, MAPPING_KINDS)

    assert len(problems) == len(expected)
    for problem, start in zip(problems, expected, strict=True):
        assert str(problem).startswith(start)


def test_the_same_line_twice_is_harmless() -> None:
    rows, problems = read_csv("kind,source,target\nvendor,V1,1002\nvendor,V1,1002\n", MAPPING_KINDS)

    assert problems == [] and rows == [("vendor", "V1", "1002")] * 2


def test_an_export_reads_back_as_the_same_rows() -> None:
    rows = [("vendor", "Comma, Inc", "1002"), ("cost_unit", 'Quote "q"', "CU1")]

    assert read_csv(write_csv(rows), MAPPING_KINDS) == (rows, [])
