"""The layers as docs/architecture.md draws them, read from the source with `ast`: who may import whom, no cycles.

Every import counts, at any depth: a late import inside a function and one under `TYPE_CHECKING` tie two
modules together for a reader as much as one at the top does.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("connector", "workers", "webhook_receiver", "ml_connector")
EDGES = ("webhook_receiver", "workers", "ml_connector")

# (modules, what they must never import, why). A module matches the most specific entry that names it.
RULES: list[tuple[str, tuple[str, ...], str]] = [
    (
        "connector",
        ("flask", "werkzeug", "celery", *EDGES, "connector.sandbox"),
        "the core knows no web framework, no task queue, no edge and no sandbox",
    ),
    (
        "connector.sandbox",
        ("celery", *EDGES),
        "the sandboxes stand in for Exact and Basware (Flask servers of their own), never for our edges",
    ),
    ("workers", ("webhook_receiver", "ml_connector"), "the workers run without the receiver and the CLI"),
    ("webhook_receiver", ("ml_connector",), "the receiver runs without the CLI"),
]


@dataclass(frozen=True)
class Import:
    """One imported name as written in a module, made absolute."""

    module: str
    target: str
    line: int


def project_modules() -> dict[str, Path]:
    """Every module of the project's packages, by dotted name (a package by its own name)."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports_of(module: str, path: Path) -> Iterator[Import]:
    """Each name an import statement brings in: `from a import b` yields `a` and `a.b` (b may be a module)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield Import(module, base, node.lineno)
            for alias in node.names:
                yield Import(module, f"{base}.{alias.name}", node.lineno)


def _owner(name: str, modules: dict[str, Path]) -> str | None:
    """The project module a dotted name lives in (`connector.sync.services.Services` -> its module)."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(modules: dict[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {project module it imports: the line of the first such import}."""
    graph: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, path in modules.items():
        for found in imports_of(name, path):
            owner = _owner(found.target, modules)
            if owner is not None and owner != name:
                graph[name].setdefault(owner, found.line)
    return graph


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan), each sorted, in a stable order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while (member := stack.pop()) != node:
                group.append(member)
            if group:
                groups.append(sorted([*group, node]))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)


def describe(group: list[str], graph: dict[str, dict[str, int]], modules: dict[str, Path]) -> str:
    """A cycle as the imports that close it, each with the file and line to look at."""
    edges = [
        f"    {source} -> {target}  ({modules[source].relative_to(ROOT)}:{graph[source][target]})"
        for source in group
        for target in sorted(graph[source])
        if target in group
    ]
    return "cycle among " + ", ".join(group) + ":\n" + "\n".join(edges)


def rule_for(module: str) -> tuple[str, tuple[str, ...], str] | None:
    """The most specific rule that names this module's package."""
    matching = [rule for rule in RULES if module == rule[0] or module.startswith(rule[0] + ".")]
    return max(matching, key=lambda rule: len(rule[0]), default=None)


def _is_within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def forbidden_imports(modules: dict[str, Path]) -> list[str]:
    """Every import that crosses a layer the wrong way, as `module:line imports name (why)`."""
    found = []
    for name, path in modules.items():
        rule = rule_for(name)
        if rule is None:
            continue
        _layer, banned, why = rule
        for imported in imports_of(name, path):
            hit = next((b for b in banned if _is_within(imported.target, b)), None)
            if hit is not None and not _is_within(name, hit):
                found.append(f"{path.relative_to(ROOT)}:{imported.line} imports {hit} ({why})")
    return sorted(set(found))


@pytest.fixture(scope="module")
def modules() -> dict[str, Path]:
    return project_modules()


def test_the_project_is_where_the_test_looks(modules: dict[str, Path]) -> None:
    assert {"connector.sync.services", "workers.tasks", "webhook_receiver", "ml_connector.cli"} <= set(modules)


def test_no_layer_imports_one_it_must_not(modules: dict[str, Path]) -> None:
    problems = forbidden_imports(modules)

    assert problems == [], "imports against docs/architecture.md:\n" + "\n".join(problems)


def test_there_are_no_import_cycles(modules: dict[str, Path]) -> None:
    graph = import_graph(modules)
    found = cycles(graph)

    assert found == [], f"{len(found)} import cycle(s):\n" + "\n".join(describe(g, graph, modules) for g in found)


# The checker itself, on hand-built graphs and sources, so that a green run means what it says.


def test_a_cycle_of_three_is_found_once_and_a_chain_is_not_a_cycle() -> None:
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 1}, "d": {"a": 1}, "e": {}}

    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b": 1}, "b": {"c": 1}, "c": {}}) == []


def test_relative_late_and_type_checking_imports_all_count(tmp_path: Path) -> None:
    source = tmp_path / "mod.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import sibling\n"
        "if TYPE_CHECKING:\n"
        "    from ..other import Thing\n"
        "def late():\n"
        "    import flask\n",
        encoding="utf-8",
    )

    targets = {found.target for found in imports_of("pkg.sub.mod", source)}

    assert {"pkg.sub.sibling", "pkg.other.Thing", "flask"} <= targets


def test_the_most_specific_rule_wins() -> None:
    assert rule_for("connector.sandbox.exact") == RULES[1]
    assert rule_for("connector.sync.services") == RULES[0]
    assert rule_for("ml_connector.cli") is None  # the CLI is the outermost edge: it may import any layer
