"""Notebook outputs are stripped by a filter scoped to notebooks/ that keeps cell tags."""

import subprocess

import nbformat

from repro.notebook import from_percent, tagged_cells
from repro.paths import repo_root
from tests.fixture_repo import BODY_OK, HEADER


def test_gitattributes_scope_the_filter_to_notebooks():
    lines = [
        line
        for line in (repo_root() / ".gitattributes").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines == ["notebooks/*.ipynb filter=nbstripout"]


def test_nbstripout_keeps_tags_and_drops_outputs(tmp_path):
    nb = from_percent(HEADER.format(slug="x") + BODY_OK)
    nb.cells[3].outputs = [nbformat.v4.new_output("stream", text="noise")]
    nb.cells[3].execution_count = 1
    nb.cells[-1].metadata["tags"] = ["nbval-ignore-output"]
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    subprocess.run([str(repo_root() / ".venv" / "bin" / "nbstripout"), str(path)], check=True)
    stripped = nbformat.read(path, as_version=4)
    assert tagged_cells(stripped, "parameters") and tagged_cells(stripped, "nbval-ignore-output")
    assert all(c.outputs == [] for c in stripped.cells if c.cell_type == "code")


def test_committed_notebooks_are_what_the_filter_would_commit():
    """A notebook that differs from its nbstripout output shows as modified in every checkout
    where `make` installed the filter, and slows `git status` (provenance's dirty flag)."""
    nbstripout = str(repo_root() / ".venv" / "bin" / "nbstripout")
    for path in sorted((repo_root() / "notebooks").glob("*.ipynb")):
        text = path.read_text()
        stripped = subprocess.run(
            [nbstripout, "-t"], input=text, capture_output=True, text=True, check=True
        ).stdout
        assert stripped.rstrip("\n") == text.rstrip("\n"), (
            f"{path.name} is not in the form the git filter commits; run "
            f".venv/bin/nbstripout notebooks/{path.name}"
        )


def test_from_percent_gives_the_filter_s_cell_ids():
    nb = from_percent(HEADER.format(slug="x") + BODY_OK)
    assert [c["id"] for c in nb.cells] == [str(i) for i in range(len(nb.cells))]
