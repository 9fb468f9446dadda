"""Package boundaries (docs/architecture.md): the floors, no circles, no Qt below the views.

Two views of the same rule: what a fresh interpreter loads after importing every module of a
package (module-level imports and their consequences), and the import statements themselves, read
from the source (lazy imports inside functions included).
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from tests.conftest import REPO

# package -> top-level modules it must never pull in
# (neurodeck's own subpackages are named by their last part, e.g. "app" for neurodeck.app)
#: neurodeck's packages from the lowest floor up: each may import only its own floor and below.
FLOORS = (
    "common",
    "models",
    "streaming",
    "offline_training",
    "calibration",
    "evaluation",
    "control",
    "app",
)
QT = {"PyQt6", "pyqtgraph"}
FORBIDDEN = {
    package: QT | set(FLOORS[i + 1 :]) | ({"pylsl", "torch"} if package == "common" else set())
    for i, package in enumerate(FLOORS[:-1])
}
FORBIDDEN["models"] |= {"pylsl"}

#: Names of loaded modules: a neurodeck subpackage by its second part, anything else by its first.
LOADED_NAMES = (
    "{n.split('.')[1] if n.startswith('neurodeck.') else n.split('.')[0] for n in sys.modules}"
)


def _loaded_after_import(package: str) -> set[str]:
    code = (
        "import importlib, json, pkgutil, sys\n"
        f"pkg = importlib.import_module('neurodeck.{package}')\n"
        "for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):\n"
        "    importlib.import_module(m.name)\n"
        f"print(json.dumps(sorted({LOADED_NAMES})))\n"
    )
    return set(json.loads(_last_line(code)))


def _last_line(code: str) -> str:
    """Run ``code`` in a fresh interpreter and return the last line it printed."""
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_respect_boundaries(package: str) -> None:
    loaded = _loaded_after_import(package)
    assert package in loaded
    leaked = FORBIDDEN[package] & loaded
    assert not leaked, f"{package} imports {sorted(leaked)} (see docs/architecture.md)"


def test_models_do_not_import_streaming() -> None:
    code = (
        "import importlib, pkgutil, sys\n"
        "from neurodeck import models\n"
        "for m in pkgutil.walk_packages(models.__path__, 'neurodeck.models.'):\n"
        "    importlib.import_module(m.name)\n"
        "print(sorted(n for n in sys.modules if n.startswith('neurodeck.streaming')))\n"
    )
    assert _last_line(code) == "[]", "models may import common/, never streaming/"


def test_dashboard_views_never_load_lsl_or_torch_and_the_core_never_loads_qt() -> None:
    """The GUI thread never touches LSL or torch; the core is not a Qt module."""
    code = (
        "import json, sys, importlib\n"
        "import neurodeck.app.dashboard.window\n"
        "views = {n.split('.')[0] for n in sys.modules}\n"
        "print(json.dumps(sorted(views & {'pylsl', 'torch'})))\n"
    )
    assert _last_line(code) == "[]", "dashboard views import pylsl or torch"
    code = (
        "import json, sys\n"
        "import neurodeck.control.core\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules} & "
        "{'PyQt6', 'pyqtgraph', 'torch'})))\n"
    )
    assert _last_line(code) == "[]", "the dashboard core imports Qt (or torch before a model)"


def _source_modules() -> dict[str, Path]:
    """Every neurodeck module: dotted name -> file (from pyproject's package-dir)."""
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    modules = {}
    for package, folder in config["package-dir"].items():
        for path in (REPO / folder).rglob("*.py"):
            parts = path.relative_to(REPO / folder).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join([package, *parts])] = path
    return modules


def _import_graph() -> dict[str, set[str]]:
    """Module -> the neurodeck modules its import statements name (lazy ones included)."""
    modules = _source_modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets.add(node.module)
                targets |= {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def _floor(module: str) -> int:
    """A module's floor; ``neurodeck`` itself and its ``__main__`` are the roof above them all."""
    parts = module.split(".")
    return FLOORS.index(parts[1]) if len(parts) > 1 and parts[1] in FLOORS else len(FLOORS)


def test_no_import_runs_back_up_a_floor() -> None:
    upward = sorted(
        f"{m} -> {t}"
        for m, targets in _import_graph().items()
        for t in targets
        if _floor(t) > _floor(m)
    )
    assert not upward, "imports that run back up (see docs/architecture.md):\n" + "\n".join(upward)


def test_no_modules_import_each_other_in_a_circle() -> None:
    graph = _import_graph()
    # packages' __init__ files name no code; a module importing its own package is not a circle
    graph = {m: {t for t in ts if not m.startswith(t + ".")} for m, ts in graph.items()}
    circles = [c for c in _strongly_connected(graph) if len(c) > 1]
    assert not circles, f"import circles: {circles}"


def test_no_command_module_imports_another() -> None:
    """``app/`` commands share code through non-command modules (options, replay_loop...)."""
    graph = _import_graph()
    commands = {
        m
        for m, path in _source_modules().items()
        if m.startswith("neurodeck.app.")
        and re.search(r"^def (cmd_\w+|add_parsers?)\(", path.read_text(), re.M)
    }
    assert {"neurodeck.app.commands", "neurodeck.app.loop"} <= commands
    crossing = sorted(f"{m} -> {t}" for m in commands for t in graph[m] & commands)
    assert not crossing, crossing


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of ``graph``."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out
