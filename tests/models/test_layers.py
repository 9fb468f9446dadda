"""Model files share layers through models/layers.py, not by importing each other."""

from __future__ import annotations

import ast
import re

from tests.conftest import REPO

MODELS = REPO / "models"

#: Model-to-model imports that are not shared layers: a model that subclasses another
#: (ShallowConvNetAnyMontage is a ShallowConvNet) and the tokenizer built on LaBraM's encoder.
ALLOWED = {
    ("shallow_any", "shallow_convnet"): {"ShallowConvNet"},
    ("labram_tokenizer", "labram"): {"NeuralTransformer"},
}


def _model_files() -> set[str]:
    """Modules of models/ that define a model: a registered architecture, or the tokenizer."""
    names = {
        p.stem for p in MODELS.glob("*.py") if re.search(r"^@register_model\(", p.read_text(), re.M)
    }
    return names | {"labram_tokenizer"}


def _model_imports(stem: str, models: set[str]) -> dict[str, set[str]]:
    """Names each model module ``stem`` imports from another model module, by module."""
    tree = ast.parse((MODELS / f"{stem}.py").read_text())
    found: dict[str, set[str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("neurodeck.models."):
            target = node.module.removeprefix("neurodeck.models.")
            if target in models and target != stem:
                found.setdefault(target, set()).update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                target = alias.name.removeprefix("neurodeck.models.")
                if alias.name.startswith("neurodeck.models.") and target in models:
                    found.setdefault(target, set()).add("*")
    return found


def test_model_files_import_shared_pieces_from_layers_not_from_each_other() -> None:
    models = _model_files()
    assert {"eegnet", "shallow_convnet", "spp_eegnet", "labram", "labram_tokenizer"} <= models
    stray = {
        (stem, target): names - ALLOWED.get((stem, target), set())
        for stem in sorted(models)
        for target, names in _model_imports(stem, models).items()
    }
    stray = {pair: names for pair, names in stray.items() if names}
    assert not stray, f"model files import from other model files (use models/layers.py): {stray}"


def test_layers_imports_no_model_file() -> None:
    models = _model_files()
    assert not _model_imports("layers", models)
