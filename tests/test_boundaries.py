"""Package boundaries from DESIGN.md, checked in fresh interpreters (sys.modules after import)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import REPO

# package -> top-level modules it must never pull in
# (neurodeck's own subpackages are named by their last part, e.g. "app" for neurodeck.app)
FORBIDDEN = {
    "common": {"PyQt6", "pyqtgraph", "app", "streaming", "models", "calibration", "pylsl", "torch"},
    "streaming": {"PyQt6", "pyqtgraph", "app", "calibration", "offline_training"},
    "models": {"PyQt6", "pyqtgraph", "app", "calibration", "offline_training", "pylsl"},
    "offline_training": {"PyQt6", "pyqtgraph", "app"},
    "calibration": {"PyQt6", "pyqtgraph", "app"},
}

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
    assert not leaked, f"{package} imports {sorted(leaked)} (see DESIGN.md package boundaries)"


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
    """DESIGN.md: the GUI thread never touches LSL or torch; the core is not a Qt module."""
    code = (
        "import json, sys, importlib\n"
        "import neurodeck.app.dashboard.window\n"
        "views = {n.split('.')[0] for n in sys.modules}\n"
        "print(json.dumps(sorted(views & {'pylsl', 'torch'})))\n"
    )
    assert _last_line(code) == "[]", "dashboard views import pylsl or torch"
    code = (
        "import json, sys\n"
        "import neurodeck.app.dashboard.core\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules} & "
        "{'PyQt6', 'pyqtgraph', 'torch'})))\n"
    )
    assert _last_line(code) == "[]", "the dashboard core imports Qt (or torch before a model)"
