"""Every notebook under `notebooks/` runs top to bottom, at a small budget.

Executed for real (nbclient, an IPython kernel of this Python): a cell that raises
fails the test with that cell's error. The notebooks read their budget from
`KT_NOTEBOOK_*` environment variables, set small here.
"""

import glob
import json
import os

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOKS = sorted(glob.glob(os.path.join(REPO, "notebooks", "*.ipynb")))


def test_the_notebooks_are_there_and_stored_without_outputs():
    names = {os.path.basename(path) for path in NOTEBOOKS}
    assert {"01_quickstart.ipynb", "02_in_your_keras_project.ipynb",
            "03_claims.ipynb"} <= names
    for path in NOTEBOOKS:
        with open(path, encoding="utf-8") as handle:
            notebook = json.load(handle)
        for cell in notebook["cells"]:
            if cell["cell_type"] == "code":
                assert not cell["outputs"] and cell["execution_count"] is None, path


@pytest.mark.parametrize("path", NOTEBOOKS, ids=os.path.basename)
def test_notebook_runs(path, tmp_path, monkeypatch):
    monkeypatch.setenv("KT_NOTEBOOK_TRIALS", "2")
    monkeypatch.setenv("KT_NOTEBOOK_EPOCHS", "2")
    monkeypatch.setenv("KT_NOTEBOOK_SUBSAMPLE", "300")
    monkeypatch.setenv("KT_NOTEBOOK_SEEDS", "2")
    monkeypatch.setenv("KT_NOTEBOOK_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "3")
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": os.path.dirname(path)}})
    client.execute()  # raises CellExecutionError, naming the cell, when one fails
    shown = [output for cell in notebook.cells if cell.cell_type == "code"
             for output in cell.outputs]
    assert not [o for o in shown if o.output_type == "error"]
    # What a reader looks at renders as HTML or an image, not as a repr line.
    assert any("text/html" in o.get("data", {}) or "image/png" in o.get("data", {})
               for o in shown), path
