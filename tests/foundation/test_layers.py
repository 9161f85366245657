"""The packages import each other downwards only, as the README's Layout section says.

Read from the source (every import, at the top of a module or inside a function), so that a new
import that climbs a layer or closes a cycle fails here before it knots the code together.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

BOOKING = Path(__file__).resolve().parents[2] / "booking"

# Lowest first; a package may import packages of its own layer or below, never above.
LAYERS = (
    ("db", "config", "extensions", "formatting", "tokens"),
    ("clinic", "patients", "accounts", "audit"),
    ("scheduling",),
    ("intake",),
    ("clinical",),
    ("notify",),
    ("frontdesk",),
    ("admin",),
    ("web",),
    ("__init__", "models", "cli", "demo", "access_log"),  # the app, its commands, server wiring
)
RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}

# The pure cores: the hard thinking, tested on their own, with no framework underneath.
PURE = (
    "scheduling/availability.py",
    "intake/questionnaire.py",
    "intake/screening.py",
    "intake/scoring.py",
    "notify/ics.py",
    "formatting.py",
    "web/parsing.py",
)
FRAMEWORKS = ("flask", "flask_sqlalchemy", "flask_wtf", "sqlalchemy", "wtforms", "booking")


def package_of(path: Path) -> str:
    return path.relative_to(BOOKING).parts[0].removesuffix(".py")


def imported_modules(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "booking":  # from booking import formatting
                found += [f"booking.{alias.name}" for alias in node.names]
            else:
                found.append(node.module)
    return found


def package_imports() -> dict[tuple[str, str], list[str]]:
    """(importer, imported) package pairs, with the modules where each import is written."""
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(BOOKING.rglob("*.py")):
        importer = package_of(path)
        for module in imported_modules(path):
            parts = module.split(".")
            if parts[0] != "booking" or len(parts) < 2 or parts[1] == importer:
                continue
            edges[(importer, parts[1])].append(str(path.relative_to(BOOKING)))
    return edges


def test_every_package_has_a_layer():
    packages = {package_of(path) for path in BOOKING.rglob("*.py")}
    assert packages - RANK.keys() == set(), "add the new package to LAYERS and the README"


def test_packages_import_downwards_only():
    upward = [
        f"{importer} imports {imported} (in {', '.join(sorted(set(where)))})"
        for (importer, imported), where in package_imports().items()
        if RANK[imported] > RANK[importer]
    ]
    assert upward == []


def test_no_import_cycles_between_packages():
    graph: dict[str, set[str]] = defaultdict(set)
    for importer, imported in package_imports():
        graph[importer].add(imported)
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt in path:
                cycles.append(" -> ".join([*path[path.index(nxt):], nxt]))
            elif len(path) < len(RANK):
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    assert cycles == []


@pytest.mark.parametrize("module", PURE)
def test_pure_cores_import_no_framework_and_no_app_code(module):
    imports = imported_modules(BOOKING / module)
    assert [m for m in imports if m.split(".")[0] in FRAMEWORKS] == []


def test_the_reader_sees_imports_inside_functions_and_from_the_package(tmp_path):
    module = tmp_path / "probe.py"
    module.write_text(
        "def f():\n    from booking.web.filters import local\n"
        "from booking import formatting\n",
        encoding="utf-8",
    )
    assert sorted(imported_modules(module)) == ["booking.formatting", "booking.web.filters"]
