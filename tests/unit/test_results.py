"""save_result writes the documented schema with provenance; show_verdict renders it."""

import json

import numpy as np
import pytest

from repro import results, stats
from repro.config import resolve_config
from tests.fixture_repo import make_repo

PROFILES = {"smoke": {"N_SEEDS": 2}, "quick": {"N_SEEDS": 5}, "full": {"N_SEEDS": 10}}


@pytest.fixture
def run_in_fixture(tmp_path, monkeypatch):
    root = make_repo(tmp_path / "repo", {"demo": "ok"})
    out = tmp_path / "out"
    monkeypatch.setenv("REPRO_ROOT", str(root))
    monkeypatch.setenv("REPRO_OUTPUT_DIR", str(out))

    def start(profile):
        ns = {"PROFILE": profile, "N_SEEDS": None, "SEED0": 0, "DEVICE": "cpu"}
        return results.start_run("demo", resolve_config(PROFILES, ns))

    return start, out


def test_save_result_schema_and_provenance(run_in_fixture):
    start, out = run_in_fixture
    run = start("quick")
    assert run.seeds == [0, 1, 2, 3, 4] and run.device == "cpu" and run.judged
    check = stats.verdict([0.1, 0.2, 0.15, 0.12, 0.18], name="gain", profile=run.profile)
    written = results.save_result(run, {"a": [1, 2, 3, 4, 5]}, [check], extra={"note": 1})
    on_disk = json.loads((out / "result.json").read_text())
    assert on_disk == json.loads(json.dumps(written))
    for key in results.REQUIRED_RESULT_KEYS:
        assert key in on_disk
    assert on_disk["verdict"] == "reproduced" and on_disk["claim"] == "A shift raises the mean."
    prov = on_disk["provenance"]
    for key in (
        "git",
        "notebook_sha256",
        "packages",
        "python",
        "os",
        "cpu",
        "wall_s",
        "peak_memory_mb",
        "device",
        "threads_env",
    ):
        assert key in prov
    assert prov["packages"]["numpy"]


def test_per_seed_lengths_must_match_seeds(run_in_fixture):
    start, _ = run_in_fixture
    run = start("quick")
    check = stats.verdict([0.1, 0.2, 0.15, 0.12, 0.18], profile=run.profile)
    with pytest.raises(ValueError, match="3 values for 5 seeds"):
        results.save_result(run, {"a": [1, 2, 3]}, check)


def test_smoke_result_cannot_claim_a_verdict(run_in_fixture):
    start, _ = run_in_fixture
    run = start("smoke")
    judged = stats.verdict([0.1, 0.2], profile="quick")  # judged by mistake
    with pytest.raises(ValueError, match="smoke profile never judges"):
        results.save_result(run, {"a": [1, 2]}, judged)


def test_validate_result_rejects_a_verdict_without_reason():
    with pytest.raises(ValueError, match="lacks"):
        results.validate_result({"schema_version": 1})


def test_show_verdict_text_and_html(run_in_fixture):
    start, _ = run_in_fixture
    run = start("quick")
    checks = [
        stats.verdict([0.1, 0.2, 0.15, 0.12, 0.18], name="part a", profile=run.profile),
        stats.verdict([0.1, -0.2, 0.15, -0.12, 0.05], name="part b", profile=run.profile),
    ]
    summary = results.show_verdict(results.save_result(run, {}, checks))
    text = repr(summary)
    assert "NOT REPRODUCED (inconclusive)" in text and "part a" in text and "part b" in text
    assert "<table>" in summary._repr_html_()


def test_start_run_caps_torch_threads_at_max_threads(run_in_fixture, monkeypatch, capsys):
    torch = pytest.importorskip("torch")
    start, _ = run_in_fixture
    monkeypatch.setenv("REPRO_THREADS", "2")
    before = torch.get_num_threads()
    ns = {"PROFILE": "smoke", "N_SEEDS": None, "SEED0": 0, "DEVICE": "cpu"}
    cfg = resolve_config(PROFILES, ns)
    try:
        results.start_run("demo", cfg, max_threads=1)
        assert torch.get_num_threads() == 1 and "threads: 1" in capsys.readouterr().out
        results.start_run("demo", cfg, max_threads=8)  # never above the runner's budget
        assert torch.get_num_threads() == 2
        for bad in (0, 1.5, "1"):
            with pytest.raises(ValueError, match="max_threads"):
                results.start_run("demo", cfg, max_threads=bad)
    finally:
        torch.set_num_threads(before)


def test_extra_is_stored_without_nan(run_in_fixture):
    start, out = run_in_fixture
    run = start("quick")
    check = stats.verdict([0.1, 0.2, 0.15, 0.12, 0.18], profile=run.profile)
    extra = {"ci": [float("nan"), 1.0], "nested": {"x": (np.float64("inf"), np.int64(3))}}
    results.save_result(run, {"a": [1, 2, 3, 4, 5]}, check, extra=extra)
    on_disk = json.loads((out / "result.json").read_text())
    assert on_disk["extra"] == {"ci": [None, 1.0], "nested": {"x": [None, 3]}}
