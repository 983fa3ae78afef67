"""The results store (DESIGN.md, "Results and provenance").

A notebook calls :func:`start_run` after resolving its parameters, :func:`save_figure` for each
figure, :func:`save_result` once with the per-seed metrics and the judged checks, and
:func:`show_verdict` to render the one-screen summary. Files go to ``$REPRO_OUTPUT_DIR`` (the
runner and the tests set it to a temporary folder) or, when a reader runs the notebook by hand,
to the git-ignored ``results/.interactive/<slug>/<profile>/``; only the runner moves a finished
run into ``results/<slug>/<profile>/``.
"""

from __future__ import annotations

import html
import json
import math
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from repro import device as devices
from repro import notebook, provenance, registry, stats
from repro.config import Config
from repro.paths import notebook_path, results_dir
from repro.seeding import report_seeds

SCHEMA_VERSION = 1
RESULT_FILE = "result.json"
OUTPUT_ENV = "REPRO_OUTPUT_DIR"
REQUIRED_RESULT_KEYS = (
    "schema_version",
    "slug",
    "title",
    "claim",
    "profile",
    "parameters",
    "seeds",
    "per_seed",
    "verdict",
    "reason",
    "explanation",
    "effect",
    "ci",
    "p_value",
    "test",
    "checks",
    "provenance",
)


@dataclass
class Run:
    """One execution of a notebook: its resolved config, report seeds, device and output folder."""

    slug: str
    cfg: Config
    seeds: list[int]
    device: str
    output_dir: Path
    started: float = field(default_factory=time.time)
    figures: list[str] = field(default_factory=list)

    @property
    def profile(self) -> str:
        return self.cfg.profile

    @property
    def judged(self) -> bool:
        """Smoke runs exercise the pipeline and judge nothing."""
        return self.profile != "smoke"


def output_dir_for(slug: str, profile: str) -> Path:
    env = os.environ.get(OUTPUT_ENV)
    return Path(env) if env else results_dir() / ".interactive" / slug / profile


def start_run(slug: str, cfg: Config, max_threads: int | None = None) -> Run:
    """Check the slug, derive the report seeds (``SEED0``, ``N_SEEDS``), pick the device, cap
    threads and prepare the output folder; print what was resolved.

    Torch's intra-op threads are capped at the runner's budget (``$REPRO_THREADS``, else all
    cores) and, if given, at ``max_threads``: notebooks training tiny models pass 1, since such
    models gain nothing from more threads and, on a busy machine, spinning threads slow their
    training several-fold."""
    if max_threads is not None and (not isinstance(max_threads, int) or max_threads < 1):
        raise ValueError(f"max_threads must be a positive integer or None; got {max_threads!r}")
    registry.entry(slug)
    seeds = report_seeds(cfg.SEED0, cfg.N_SEEDS)
    device = devices.pick_device(cfg.DEVICE)
    budget = devices.thread_budget()
    threads = devices.cap_threads(min(budget, max_threads) if max_threads else budget)
    devices.configure_determinism(device)
    out = output_dir_for(slug, cfg.profile)
    (out / "figures").mkdir(parents=True, exist_ok=True)
    print(cfg.table())
    print(f"seeds: {seeds[0]}..{seeds[-1]} ({len(seeds)}); device: {device}; threads: {threads}")
    return Run(slug=slug, cfg=cfg, seeds=seeds, device=device, output_dir=out)


def save_figure(run: Run, fig: Any, name: str) -> None:
    """Save a matplotlib figure as ``figures/<name>.png`` beside the result (listed in
    ``run.figures``; returns nothing, so that it can end a cell without printing)."""
    path = run.output_dir / "figures" / f"{name}.png"
    fig.savefig(path)
    rel = str(path.relative_to(run.output_dir))
    if rel not in run.figures:
        run.figures.append(rel)


def _json_safe(value: Any) -> Any:
    """``value`` with every non-finite float (NaN, an interval of one seed) as ``None``: JSON has
    no NaN. Recurses into mappings, lists and tuples; numpy scalars become Python numbers."""
    if isinstance(value, Mapping):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def save_result(
    run: Run,
    per_seed: Mapping[str, Sequence[float]],
    checks: stats.Verdict | Sequence[stats.Verdict],
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write ``result.json``: the claim, parameters, seeds, per-seed metrics per arm, the judged
    checks (combined: every part must hold), and full provenance. Returns the written dict."""
    checks = [checks] if isinstance(checks, stats.Verdict) else list(checks)
    for name, values in per_seed.items():
        if len(values) != len(run.seeds):
            raise ValueError(
                f"per_seed[{name!r}] has {len(values)} values for {len(run.seeds)} seeds"
            )
    overall = checks[0] if len(checks) == 1 else stats.combine_verdicts(checks, "all parts")
    meta = registry.entry(run.slug)
    finished = time.time()
    result = {
        "schema_version": SCHEMA_VERSION,
        "slug": run.slug,
        "title": meta["title"],
        "claim": meta["claim"],
        "metric": meta["metric"],
        "profile": run.profile,
        "parameters": run.cfg.as_dict(),
        "seeds": run.seeds,
        "per_seed": {k: [float(v) for v in vs] for k, vs in per_seed.items()},
        "verdict": overall.verdict,
        "reason": overall.reason,
        "explanation": overall.explanation,
        "effect": overall.effect,
        "ci": _json_safe([overall.ci_low, overall.ci_high]),
        "ci_level": overall.ci_level,
        "p_value": overall.p_value,
        "test": overall.test,
        "checks": [
            {
                **c.to_dict(),
                "ci_low": _json_safe(c.ci_low),
                "ci_high": _json_safe(c.ci_high),
            }
            for c in checks
        ],
        "extra": _json_safe(dict(extra or {})),
        "figures": list(run.figures),
        "provenance": {
            "git": provenance.git_state(),
            "notebook_sha256": notebook.source_hash(notebook.read(notebook_path(run.slug))),
            "packages": provenance.package_versions(),
            **provenance.environment(),
            **devices.describe_device(run.device),
            "started": datetime.fromtimestamp(run.started, UTC).isoformat(timespec="seconds"),
            "finished": datetime.fromtimestamp(finished, UTC).isoformat(timespec="seconds"),
            "wall_s": round(finished - run.started, 2),
            "peak_memory_mb": provenance.peak_memory_mb(),
        },
    }
    validate_result(result)
    path = run.output_dir / RESULT_FILE
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    tmp.replace(path)
    return result


def validate_result(result: Mapping[str, Any]) -> None:
    """Check the schema of a result dict (used on writing and by the report and the tests)."""
    missing = [k for k in REQUIRED_RESULT_KEYS if k not in result]
    if missing:
        raise ValueError(f"result lacks {', '.join(missing)}")
    if result["schema_version"] != SCHEMA_VERSION:
        raise ValueError(f"schema version {result['schema_version']} != {SCHEMA_VERSION}")
    if result["verdict"] not in (stats.REPRODUCED, stats.NOT_REPRODUCED, stats.NOT_JUDGED):
        raise ValueError(f"unknown verdict {result['verdict']!r}")
    if result["verdict"] == stats.NOT_REPRODUCED and result["reason"] not in (
        stats.CONTRADICTED,
        stats.INCONCLUSIVE,
    ):
        raise ValueError("a 'not reproduced' verdict needs the reason contradicted or inconclusive")
    if result["profile"] == "smoke" and result["verdict"] != stats.NOT_JUDGED:
        raise ValueError("the smoke profile never judges")


def load_result(path: Path) -> dict[str, Any]:
    result = json.loads(Path(path).read_text())
    validate_result(result)
    return result


def _fmt(x: float | None, digits: int = 3) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


class VerdictSummary:
    """The one-screen summary shown at the end of a notebook (text and HTML)."""

    def __init__(self, result: Mapping[str, Any]):
        self.result = result

    def rows(self) -> list[tuple[str, str, str, str, str]]:
        return [
            (
                c["name"],
                _fmt(c["effect"]),
                f"[{_fmt(c['ci_low'])}, {_fmt(c['ci_high'])}]",
                _fmt(c["p_value"], 4),
                c["verdict"] + (f" ({c['reason']})" if c["reason"] else ""),
            )
            for c in self.result["checks"]
        ]

    def headline(self) -> str:
        r = self.result
        reason = f" ({r['reason']})" if r["reason"] else ""
        return (
            f"{r['slug']} [{r['profile']}, {len(r['seeds'])} seeds]: {r['verdict'].upper()}{reason}"
        )

    def __repr__(self) -> str:
        header = ("check", "effect", "95% CI", "p", "verdict")
        rows = [header, *self.rows()]
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)) for row in rows
        ]
        return "\n".join(
            [self.headline(), f"claim: {self.result['claim']}", *lines, self.result["explanation"]]
        )

    def _repr_html_(self) -> str:
        r = self.result
        colour = {"reproduced": "#1a7f37", "not reproduced": "#cf222e"}.get(r["verdict"], "#6e7781")
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in self.rows()
        )
        return (
            f"<div style='border-left:6px solid {colour};padding:6px 12px'>"
            f"<b style='color:{colour}'>{html.escape(self.headline())}</b>"
            f"<p><i>{html.escape(r['claim'])}</i></p>"
            "<table><tr><th>check</th><th>effect</th><th>95% CI</th><th>p</th><th>verdict</th></tr>"
            f"{body}</table><p>{html.escape(r['explanation'])}</p></div>"
        )


def show_verdict(result: Mapping[str, Any]) -> VerdictSummary:
    """Render the summary; as the last expression of a cell it shows as a table."""
    return VerdictSummary(result)
