"""Notebooks are valid, stored without outputs, tell their story (a question first, a closing
"What this shows"), and every one runs end to end with each figure cell showing its figure."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
ALL = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))


def _tags(cell) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


@pytest.mark.parametrize("name", ALL)
def test_notebook_is_valid_stripped_and_tells_its_story(name):
    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and any("toolkit" in cell.source for cell in code)
    assert all(not cell.outputs and cell.execution_count is None for cell in code), "outputs must be stripped in git"
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and "**Question:**" in first.source and "runs in about" in first.source.lower()
    assert "TIME_" not in first.source  # the run time is filled in
    if name != "06_label_real_letters.ipynb":
        assert "## What this shows" in notebook.cells[-1].source
        assert sum("figure" in _tags(cell) for cell in code) >= 2


def execute(name: str, tmp_path: Path):
    """Run a notebook with nbclient as `make notebooks` does, the "parameters" cell set to the quick settings."""
    from nbclient import NotebookClient

    notebook = nbformat.read(NOTEBOOKS / name, as_version=4)
    for cell in notebook.cells:
        if "parameters" in _tags(cell):
            cell.source = "QUICK = True"
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    nbformat.write(notebook, tmp_path / name)
    return notebook


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL)
def test_notebook_executes_and_each_figure_cell_draws(name, tmp_path):
    notebook = execute(name, tmp_path)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert not [output for output in cell.outputs if output.get("output_type") == "error"], cell.source[:80]
        if "figure" in _tags(cell):
            assert any("image/png" in output.get("data", {}) for output in cell.outputs), f"no figure from: {cell.source[:80]}"
