"""Executes the notebooks (small settings) and fails if any cell errors; their cells assert their own numbers."""
import os

import nbformat
from nbclient import NotebookClient
import pytest

NOTEBOOKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "notebooks")


def _execute(name: str, env: dict[str, str] | None = None) -> nbformat.NotebookNode:
  nb = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
  old = dict(os.environ)
  os.environ.update(env or {})
  try:
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": NOTEBOOKS}}).execute()
  finally:
    os.environ.clear()
    os.environ.update(old)
  return nb


def test_nash_equilibrium_notebook_runs_and_checks_itself():
  nb = _execute("nash_equilibrium.ipynb")
  outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
  assert "0.111421" in outputs  # the golden JSD at μ = 1, printed by the Theorem 1 cell
  assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))


@pytest.mark.slow  # ~30 s cold (a sweep inside); the Nash notebook runs by default
def test_ablation_notebook_runs():
  # SWEEP_DIR empty: the notebook runs the tiny sweep configs/sweeps/figures.py itself, into a temporary directory.
  nb = _execute("ablation.ipynb", {"SWEEP_DIR": ""})
  outputs = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []))
  assert "2 members × 3 seeds" in outputs
  assert any("image/png" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
  assert any("text/markdown" in o.get("data", {}) for c in nb.cells for o in c.get("outputs", []))
