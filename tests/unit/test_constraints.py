"""Reproducible installs: the versions the tests run with are the ones recorded in constraints.txt."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _pins() -> dict[str, str]:
    lines = (ROOT / "constraints.txt").read_text().splitlines()
    pairs = (line.split("==", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {_canonical(name): version.strip() for name, version in pairs}


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements = project["dependencies"] + [r for extra in project["optional-dependencies"].values() for r in extra]
    return {_canonical(re.split(r"[\[<>=!~; ]", requirement, maxsplit=1)[0]) for requirement in requirements}


def test_every_declared_dependency_is_pinned_exactly() -> None:
    assert _declared() - set(_pins()) == set()


def test_the_test_environment_has_exactly_the_pinned_versions() -> None:
    installed = {_canonical(dist.metadata["Name"]): dist.version for dist in metadata.distributions()}
    drift = {name: (pinned, installed.get(name)) for name, pinned in _pins().items() if installed.get(name) != pinned}
    assert drift == {}, "re-run scripts/setup, or refresh constraints.txt with scripts/lock"


def test_setup_installs_with_the_constraints() -> None:
    assert "-c constraints.txt" in (ROOT / "scripts" / "setup").read_text()
