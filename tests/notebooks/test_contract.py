"""The notebook contract (DESIGN.md, "Tests"), checked statically for every notebook."""

import re

import pytest

from repro import notebook, registry
from repro.config import PROFILE_NAMES, is_parameter_name
from repro.paths import notebooks_dir

NOTEBOOKS = sorted(notebooks_dir().glob("*.ipynb"))
SECTIONS = [
    "Setup",
    "Data",
    "Method",
    "Baselines",
    "Experiment",
    "Figures",
    "Verdict",
    "Deviations from the paper and limitations",
]
COMMON_PARAMETERS = {"PROFILE": None, "N_SEEDS": None, "SEED0": 0, "DEVICE": "auto"}


@pytest.fixture(params=NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def nb(request):
    return request.param.stem, notebook.read(request.param)


def test_kernelspec_is_python3(nb):
    slug, node = nb
    assert node.metadata.kernelspec.name == "python3", slug


def test_no_outputs_committed(nb):
    _, node = nb
    for cell in node.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_parameters_cell_holds_only_literals(nb):
    _, node = nb
    params = notebook.parameters(node)  # raises on anything but NAME = literal
    assert all(is_parameter_name(n) for n in params)
    for p in params.values():  # scalars, so that `-p NAME VALUE` can set every parameter
        assert p.default is None or isinstance(p.default, (bool, int, float, str)), p.name
    for name, default in COMMON_PARAMETERS.items():
        assert name in params and params[name].default == default
    assert all(p.help for p in params.values()), "every parameter has a # help comment"
    # papermill parses the same cell and finds the same names
    import papermill

    assert set(papermill.inspect_notebook(str(notebooks_dir() / f"{nb[0]}.ipynb"))) == set(params)


def test_profiles_follow_the_parameters_and_the_registry(nb):
    slug, node = nb
    params = notebook.parameters(node)
    profiles = notebook.profiles(node)
    assert set(profiles) == set(PROFILE_NAMES)
    params_index = next(
        i for i, c in enumerate(node.cells) if "parameters" in c.metadata.get("tags", [])
    )
    assert node.cells[params_index + 1].source.lstrip().startswith("PROFILES"), (
        "PROFILES comes next"
    )
    for table in profiles.values():
        assert set(table) <= set(params), "every profile key is a parameter"
        assert table.keys() == profiles["quick"].keys()
        for key in table:
            assert params[key].default is None, (
                f"{key} is sized by the profile, so defaults to None"
            )
    seeds = registry.entry(slug)["seeds"]
    assert {p: profiles[p]["N_SEEDS"] for p in PROFILE_NAMES} == seeds


def test_anatomy_sections_in_order(nb):
    slug, node = nb
    first = node.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
    assert "**Claim.**" in first.source
    assert "**What this experiment can and cannot show.**" in first.source
    found = [h for h in notebook.headings(node) if h in SECTIONS]
    assert found == SECTIONS, f"{slug}: sections {found}"
    assert "Our experiment" in notebook.headings(node)
    assert 12 <= len(node.cells) <= 45, f"{slug} has {len(node.cells)} cells"


def test_notebook_uses_the_shared_run_and_verdict(nb):
    slug, node = nb
    code = "\n".join(c.source for c in node.cells if c.cell_type == "code")
    assert re.search(rf'start_run\("{re.escape(slug)}", cfg[,)]', code), f"{slug}: no start_run"
    assert "resolve_config(PROFILES, globals())" in code
    assert "save_result(" in code and "show_verdict(" in code
    assert any(
        c.source.startswith("# NBVAL_CHECK_OUTPUT") for c in node.cells if c.cell_type == "code"
    )


def test_no_downloads_or_absolute_paths(nb):
    slug, node = nb
    code = "\n".join(c.source for c in node.cells if c.cell_type == "code")
    for pattern in (
        r"fetch_openml|fetch_\w+\(",
        r"urlretrieve|requests\.get|from_pretrained",
        r"['\"]/(home|work|tmp|Users)/",
    ):
        assert not re.search(pattern, code), f"{slug}: {pattern}"
