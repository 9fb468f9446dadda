"""The accuracy tables of the README and docs/results.md are generated from the evaluation JSON."""

from __future__ import annotations

import importlib.util
import re

from tests.conftest import REPO


def _table_script():
    spec = importlib.util.spec_from_file_location(
        "evaluation_table", REPO / "benchmarks" / "evaluation_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _block(path, markers: tuple[str, str]) -> str:
    text = path.read_text(encoding="utf-8")
    start, end = (re.escape(m) for m in markers)
    block = re.search(f"{start}\n(.*?)\n{end}", text, re.S)
    assert block is not None, f"{path.name} lost its {markers[0]} markers"
    return block.group(1)


def test_the_tables_are_the_scripts_output_from_the_committed_results() -> None:
    script = _table_script()
    results = script.load()
    assert results, "no benchmarks/results/evaluate-*.json to build the table from"
    hint = "run python benchmarks/evaluation_table.py --write"
    assert _block(REPO / "docs" / "results.md", script.MARKERS) == script.readme_table(results), (
        f"docs/results.md's table differs from the results: {hint}"
    )
    headline = _block(REPO / "README.md", script.HEADLINE_MARKERS)
    assert headline == script.headline_table(results), f"README's table differs: {hint}"
    assert "mi_shallow64 | 64 (all) | 18 subj., leave-one-out" in headline
    generated = (REPO / "benchmarks" / "results" / "evaluate-calibrated.md").read_text()
    assert generated == script.report(results)
