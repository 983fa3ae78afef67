"""Reading notebooks without running them: the parameters cell, the ``PROFILES`` table, the
anatomy's sections and a hash of the source.

papermill only *warns* about unknown parameters and silently skips lines it cannot parse
(anchors-study §2.1), so the runner and the contract tests use this stricter reader instead:
every statement of the parameters cell must be ``NAME = literal``.
"""

from __future__ import annotations

import ast
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"


class NotebookFormatError(ValueError):
    """A notebook that breaks the contract (DESIGN.md, "Parameters and profiles")."""


@dataclass(frozen=True)
class Parameter:
    name: str
    default: Any
    help: str


def read(path: Path | str) -> nbformat.NotebookNode:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    return nbformat.read(path, as_version=4)


def tagged_cells(nb: nbformat.NotebookNode, tag: str) -> list[nbformat.NotebookNode]:
    return [c for c in nb.cells if tag in c.get("metadata", {}).get("tags", [])]


def _literal_assignments(source: str, where: str) -> dict[str, tuple[Any, int]]:
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise NotebookFormatError(f"{where} does not parse: {err}") from None
    found: dict[str, tuple[Any, int]] = {}
    for stmt in tree.body:
        if not (
            isinstance(stmt, ast.Assign)
            and len(stmt.targets) == 1
            and isinstance(stmt.targets[0], ast.Name)
        ):
            raise NotebookFormatError(
                f"{where}, line {stmt.lineno}: only `NAME = literal` lines are allowed"
            )
        try:
            value = ast.literal_eval(stmt.value)
        except ValueError:
            raise NotebookFormatError(
                f"{where}, line {stmt.lineno}: {stmt.targets[0].id} is not a literal "
                "(no calls, names or derived values)"
            ) from None
        found[stmt.targets[0].id] = (value, stmt.lineno)
    return found


def parameters(nb: nbformat.NotebookNode) -> dict[str, Parameter]:
    """The parameters of a notebook's single ``parameters``-tagged cell, strictly parsed."""
    cells = tagged_cells(nb, PARAMETERS_TAG)
    if len(cells) != 1:
        raise NotebookFormatError(f"expected one cell tagged 'parameters', found {len(cells)}")
    source = cells[0].source
    lines = source.splitlines()
    result = {}
    for name, (value, lineno) in _literal_assignments(source, "the parameters cell").items():
        _, _, comment = lines[lineno - 1].partition("#")
        if "=" in comment:
            raise NotebookFormatError(
                f"the parameters cell, line {lineno}: papermill skips lines with a second '=', "
                "so the help comment must not contain one"
            )
        result[name] = Parameter(name, value, comment.strip())
    return result


def profiles(nb: nbformat.NotebookNode) -> dict[str, dict[str, Any]]:
    """The literal ``PROFILES = {...}`` table (the code cell that assigns it first)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and cell.source.lstrip().startswith("PROFILES"):
            tree = ast.parse(cell.source)
            for stmt in tree.body:
                if (
                    isinstance(stmt, ast.Assign)
                    and isinstance(stmt.targets[0], ast.Name)
                    and stmt.targets[0].id == "PROFILES"
                ):
                    try:
                        return ast.literal_eval(stmt.value)
                    except ValueError:
                        raise NotebookFormatError("PROFILES must be a literal dict") from None
    raise NotebookFormatError("no code cell starting with `PROFILES = {...}`")


def source_hash(nb: nbformat.NotebookNode) -> str:
    """SHA-256 of the cells' types and sources, ignoring outputs, metadata and the cell papermill
    injects; equal for a notebook and its executed copy."""
    cells = [
        [c.cell_type, c.source]
        for c in nb.cells
        if INJECTED_TAG not in c.get("metadata", {}).get("tags", [])
    ]
    return hashlib.sha256(json.dumps(cells, ensure_ascii=False).encode()).hexdigest()


def headings(nb: nbformat.NotebookNode) -> list[str]:
    """Markdown headings (``#`` to ``###``) in order, without the hashes."""
    found = []
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for line in cell.source.splitlines():
            stripped = line.lstrip()
            if stripped.startswith("#"):
                found.append(stripped.lstrip("#").strip())
    return found


# Authoring: notebooks are committed as .ipynb (what JupyterLab, papermill and nbval read), but a
# "percent" script is easier to write and review. These two functions convert losslessly for
# what the notebooks hold: markdown and code cells and their tags.
_MARKER = "# %%"


def to_percent(nb: nbformat.NotebookNode) -> str:
    """The notebook as a percent script: ``# %%`` code cells, ``# %% [markdown]`` markdown cells
    (each line commented), tags as ``# %% tags=["parameters"]``."""
    chunks = []
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        header = _MARKER + (" [markdown]" if cell.cell_type == "markdown" else "")
        if tags:
            header += " tags=" + json.dumps(tags)
        body = cell.source
        if cell.cell_type == "markdown":
            body = "\n".join(("# " + line).rstrip() for line in body.splitlines())
        chunks.append(f"{header}\n{body}")
    return "\n\n".join(chunks) + "\n"


def from_percent(text: str) -> nbformat.NotebookNode:
    """Inverse of :func:`to_percent`; the kernelspec is always ``python3``."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    blocks = [b for b in ("\n" + text).split("\n" + _MARKER)[1:]]
    for block in blocks:
        header, _, body = block.partition("\n")
        tags = json.loads(header.split("tags=", 1)[1]) if "tags=" in header else []
        body = body.rstrip("\n")
        if header.lstrip().startswith("[markdown]"):
            lines = [
                line[2:] if line.startswith("# ") else line.lstrip("#")
                for line in body.splitlines()
            ]
            cell = nbformat.v4.new_markdown_cell("\n".join(lines))
        else:
            cell = nbformat.v4.new_code_cell(body)
        if tags:
            cell.metadata["tags"] = tags
        nb.cells.append(cell)
    for i, cell in enumerate(nb.cells):  # the ids nbstripout (the git filter) gives: clean diffs
        cell["id"] = str(i)
    return nb
