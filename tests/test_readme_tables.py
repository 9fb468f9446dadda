"""The README's accuracy table is generated from the evaluation JSON, never typed by hand."""

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


def test_the_readme_table_is_the_scripts_output_from_the_committed_results() -> None:
    script = _table_script()
    results = script.load()
    assert results, "no benchmarks/results/evaluate-*.json to build the table from"
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    start, end = (re.escape(m) for m in script.MARKERS)
    block = re.search(f"{start}\n(.*?)\n{end}", readme, re.S)
    assert block is not None, "README.md lost its evaluation-table markers"
    assert block.group(1) == script.readme_table(results), (
        "README's table differs from the results: run python benchmarks/evaluation_table.py --write"
    )
    generated = (REPO / "benchmarks" / "results" / "evaluate-calibrated.md").read_text()
    assert generated == script.report(results)
