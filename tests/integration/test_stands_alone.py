"""The project stands alone: no tracked file points outside the repository, and every docs anchor exists."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FACTS = ROOT / "docs" / "api-facts.md"
# Spelled in pieces so that this file does not match itself.
OUTSIDE = ".." + "/shared"
NOTES = ("/work" + "/shared", "reference" + "/exact-online.md", "reference" + "/basware.md", "design" + ".md")
ANCHOR = re.compile(r"api-facts\.md#([a-z0-9-]+)")


def tracked_texts() -> dict[str, str]:
    names = subprocess.run(["git", "ls-files"], cwd=ROOT, check=True, capture_output=True, text=True).stdout.split()
    texts = {}
    for name in names:
        path = ROOT / name
        if path.is_file():
            try:
                texts[name] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue  # binary files cannot cite anything
    return texts


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return tracked_texts()


def test_no_tracked_file_points_outside_the_repository(texts: dict[str, str]) -> None:
    assert [name for name, text in texts.items() if OUTSIDE in text] == []


def test_no_tracked_file_cites_the_private_research_notes(texts: dict[str, str]) -> None:
    citing = [name for name, text in texts.items() if any(note in text for note in NOTES)]
    assert citing == [], "cite docs/api-facts.md (and its public sources) instead"


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^a-z0-9 -]", "", heading.strip().lower()).replace(" ", "-")


def facts_anchors() -> set[str]:
    headings = re.findall(r"^#{1,6} (.+)$", FACTS.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {github_slug(heading) for heading in headings}


def test_every_link_into_the_facts_points_at_a_heading_that_exists(texts: dict[str, str]) -> None:
    cited = {(name, anchor) for name, text in texts.items() for anchor in ANCHOR.findall(text)}
    assert cited, "the code should cite docs/api-facts.md"
    assert {(name, anchor) for name, anchor in cited if anchor not in facts_anchors()} == set()


def test_links_inside_the_facts_resolve() -> None:
    inside = set(re.findall(r"\]\(#([a-z0-9-]+)\)", FACTS.read_text(encoding="utf-8")))
    assert inside and inside - facts_anchors() == set()
