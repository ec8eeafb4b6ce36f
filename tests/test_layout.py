"""The project's modules import each other without circles (including imports made inside a
function, which only postpone a circle), and no package imports one on a higher floor."""

from __future__ import annotations

import ast

from tests.conftest import REPO

PACKAGES = (
    "runtime",
    "training",
    "export",
    "fleet",
    "nab",
    "bench",
    "picheck",
    "mcucheck",
    "release",
)
# the device runtime on the ground; each package stands on those below it
FLOOR = {"runtime": 0, "release": 1, "training": 1, "export": 2, "bench": 3, "picheck": 3}
FLOOR |= {"mcucheck": 3, "fleet": 3, "nab": 4}


def imports(path, package: str) -> set[str]:
    """The project modules a file imports, as 'package.module'."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            if node.module:
                found.add(f"{package}.{node.module}")
            else:
                found |= {f"{package}.{a.name}" for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in PACKAGES:
                found.add(node.module if "." in node.module else f"{node.module}.__init__")
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.split(".")[0] in PACKAGES}
    return found


def graph() -> dict[str, set[str]]:
    edges = {}
    for package in PACKAGES:
        for path in (REPO / package).glob("*.py"):
            edges[f"{package}.{path.stem}"] = imports(path, package)
    return edges


def cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One import circle, as the modules along it, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_circle_between_the_projects_modules():
    edges = graph()
    assert len(edges) > 40 and "runtime.digest" in edges["runtime.compiler"]
    assert cycle(edges) is None, " -> ".join(cycle(edges))


def test_the_circle_finder_finds_one():
    assert cycle({"a.x": {"a.y"}, "a.y": {"a.z"}, "a.z": {"a.x"}}) == ["a.x", "a.y", "a.z", "a.x"]
    assert cycle({"a.x": {"a.y"}, "a.y": set()}) is None


def test_no_package_imports_one_on_a_higher_floor():
    up = [
        f"{module} imports {target}"
        for module, targets in graph().items()
        for target in targets
        if FLOOR[target.split(".")[0]] > FLOOR[module.split(".")[0]]
    ]
    assert not up, "; ".join(up)
