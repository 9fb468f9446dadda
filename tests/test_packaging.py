"""One import name: installed, neurodeck puts only ``neurodeck`` into site-packages."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.conftest import REPO


def _setuptools_config() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_subpackage_folder_is_listed_and_mapped() -> None:
    """A new folder with an ``__init__.py`` must be named in pyproject, or a wheel drops it."""
    config = _setuptools_config()
    listed = set(config["packages"])
    mapping: dict[str, str] = config["package-dir"]
    found = set()
    for name, folder in mapping.items():
        for init in (REPO / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(REPO / folder)
            found.add(".".join([name, *rel.parts]))
    assert found == listed, f"pyproject packages differ from the folders: {found ^ listed}"
    assert all(name == "neurodeck" or name.startswith("neurodeck.") for name in listed)


def test_only_neurodeck_is_importable_from_outside_the_repository(tmp_path: Path) -> None:
    """Away from the checkout, ``import app`` (or models, streaming...) finds nothing of ours."""
    code = (
        "import importlib.util, json\n"
        "names = ['app', 'common', 'streaming', 'models', 'calibration', 'offline_training',"
        " 'control']\n"
        "ours = [n for n in names if (s := importlib.util.find_spec(n)) and s.origin"
        f" and s.origin.startswith({str(REPO)!r})]\n"
        "import neurodeck.app.cli\n"
        "print(json.dumps(ours))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.slow
def test_wheel_holds_one_top_level_package(tmp_path: Path) -> None:
    """Build the wheel offline and read its top-level names."""
    if importlib.util.find_spec("setuptools") is None:
        pytest.skip("setuptools is not installed in this environment")
    source = tmp_path / "source"  # a copy, so that the build leaves nothing in the checkout
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
    for folder in set(_setuptools_config()["package-dir"].values()):
        shutil.copytree(REPO / folder, source / folder, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("neurodeck-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names}
    assert top == {"neurodeck", wheel.name.split("-py")[0] + ".dist-info"}, top
    assert "neurodeck/app/cli.py" in names
    assert "neurodeck/streaming/lsl_machine.cfg" in names
    assert any(n.startswith("neurodeck/models/pretrained/") for n in names)
