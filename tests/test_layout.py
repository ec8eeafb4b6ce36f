"""The project's modules import each other without circles (including imports made inside a
function, which only postpone a circle), and no package imports one on a higher floor."""

from __future__ import annotations

import ast
import subprocess
import sys

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


def module_name(path) -> str:
    """runtime/cli/stream.py -> runtime.cli.stream (an __init__.py keeps its name)."""
    return ".".join(path.relative_to(REPO).with_suffix("").parts)


def modules() -> dict[str, object]:
    """Every module of the project's packages (subpackages too): name -> path."""
    return {
        module_name(path): path
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        if "__pycache__" not in path.parts
    }


def resolve(name: str, known: set[str]) -> str:
    """A dotted name imported from: the module it is, or its package's __init__."""
    return name if name in known else f"{name}.__init__"


def imports(path, known: set[str]) -> set[str]:
    """The project modules a file imports, as dotted module names."""
    here = module_name(path).split(".")[:-1]  # the file's package
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = ".".join(here[: len(here) - node.level + 1])
            if node.module:
                found.add(resolve(f"{base}.{node.module}", known))
            else:
                for a in node.names:
                    sub = f"{base}.{a.name}"
                    known_sub = sub in known or f"{sub}.__init__" in known
                    found.add(resolve(sub, known) if known_sub else f"{base}.__init__")
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] in PACKAGES:
                found.add(resolve(node.module, known))
        elif isinstance(node, ast.Import):
            found |= {
                resolve(a.name, known) for a in node.names if a.name.split(".")[0] in PACKAGES
            }
    found.discard(module_name(path))
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports(path, known) for name, path in found.items()}


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
    assert "runtime.cli.args" in edges["runtime.cli.stream"]
    assert "runtime.__init__" in edges["runtime.cli.stream"]  # from .. import Stream
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


# the runtime's apps beside the library they use: the command line (and its `python -m` door),
# the service
APPS = ("runtime.cli", "runtime.__main__", "runtime.serve")


def test_the_library_knows_nothing_of_its_apps_or_of_command_lines():
    """runtime's library modules import neither argparse nor the apps; the service does not
    import the command line."""
    wrong = []
    for name, path in modules().items():
        if not name.startswith("runtime.") or name.startswith(APPS):
            continue
        tree = ast.parse(path.read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        if "argparse" in names:
            wrong.append(f"{name} imports argparse")
    for name, targets in graph().items():
        app = name.startswith(APPS)
        for target in targets:
            if not app and name.startswith("runtime.") and target.startswith(APPS):
                wrong.append(f"{name} imports {target}")
            if name.startswith("runtime.serve") and target.startswith("runtime.cli"):
                wrong.append(f"{name} imports {target}")
    assert not wrong, "; ".join(wrong)


MAX_MODULE_LINES, MAX_FUNCTION_LINES = 300, 60


def test_modules_and_functions_a_reader_takes_in_at_once():
    found = set()
    for name, path in modules().items():
        text = path.read_text()
        if text.count("\n") > MAX_MODULE_LINES:
            found.add(name)
        for node in ast.walk(ast.parse(text)):
            long = getattr(node, "end_lineno", 0) - getattr(node, "lineno", 0) >= MAX_FUNCTION_LINES
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and long:
                found.add(f"{name}.{node.name}")
    assert not found, (
        f"over {MAX_MODULE_LINES} lines or {MAX_FUNCTION_LINES} a function: {sorted(found)}"
    )


def test_every_package_command_answers_help():
    """Each `python -m PACKAGE --help` imports what its command needs and exits 0: a name that
    moved breaks it here, not on the first user who runs it."""
    for package in sorted(p for p in PACKAGES if (REPO / p / "__main__.py").is_file()):
        proc = subprocess.run(
            [sys.executable, "-m", package, "--help"], capture_output=True, text=True, cwd=REPO
        )
        assert proc.returncode == 0 and "usage:" in proc.stdout, (package, proc.stderr[-300:])
