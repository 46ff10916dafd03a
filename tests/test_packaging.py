"""The distribution: every third-party import declared, the version written once, the
package data present. (The real install is checked by ``make install-check``.)"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions, version
from pathlib import Path

import pytest

import dialer

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
PROJECT = PYPROJECT["project"]


def canonical(name: str) -> str:
    """PEP 503 name: lower case, runs of ``-_.`` as one ``-``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(*groups: list[str]) -> set[str]:
    """The distribution names of requirement strings."""
    return {canonical(re.split(r"[<>=!~;\[ ]", spec, maxsplit=1)[0]) for g in groups for spec in g}


def imported(folder: Path) -> set[str]:
    """Top-level modules imported anywhere under ``folder``, other than stdlib and our own."""
    names: set[str] = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {"dialer", "tests", "benchmarks", "__future__"}


def distributions_of(modules: set[str]) -> dict[str, set[str]]:
    """Module -> the installed distributions that provide it."""
    provided = packages_distributions()
    return {m: {canonical(d) for d in provided.get(m, [])} for m in sorted(modules)}


def test_every_package_the_code_imports_is_a_dependency() -> None:
    deps = declared(PROJECT["dependencies"])
    missing = {m: d for m, d in distributions_of(imported(REPO / "dialer")).items() if not d & deps}
    assert missing == {}


@pytest.mark.parametrize("folder", ["tests", "benchmarks", "campaigns"])
def test_every_package_the_tests_import_is_a_dev_dependency(folder: str) -> None:
    deps = declared(PROJECT["dependencies"], PROJECT["optional-dependencies"]["dev"])
    found = distributions_of(imported(REPO / folder))
    assert {m: d for m, d in found.items() if not d & deps} == {}


def test_the_version_is_written_once() -> None:
    assert "version" in PROJECT["dynamic"] and "version" not in PROJECT
    attr = PYPROJECT["tool"]["setuptools"]["dynamic"]["version"]["attr"]
    assert attr == "dialer.__version__"
    assert version("yappr-dialer") == dialer.__version__


def test_the_distribution_has_its_own_name_and_the_command_stays() -> None:
    assert PROJECT["name"] == "yappr-dialer"
    assert PROJECT["scripts"] == {"dialer": "dialer.cli:main"}
    assert "Programming Language :: Python :: 3.11" in PROJECT["classifiers"]
    assert PROJECT["requires-python"] == ">=3.11"


def test_the_package_data_globs_cover_the_samples() -> None:
    globs = PYPROJECT["tool"]["setuptools"]["package-data"]["dialer.samples"]
    folder = REPO / "dialer" / "samples"
    data = {p.name for p in folder.iterdir() if p.suffix != ".py" and p.is_file()}
    covered = {name for name in data if any(Path(name).match(g) for g in globs)}
    assert data and covered == data
