"""What produced a result: code version, environment and machine (DESIGN.md, "Results and
provenance"). Collected without any external service."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import resource
import subprocess
import sys

from repro.paths import repo_root

# The packages whose versions change numbers; anything else a notebook imports may be added.
TRACKED_PACKAGES = (
    "repro",
    "numpy",
    "scipy",
    "scikit-learn",
    "pandas",
    "statsmodels",
    "torch",
    "matplotlib",
    "papermill",
    "nbclient",
    "ipykernel",
)


def git_state() -> dict[str, str | bool | None]:
    """Commit sha and whether tracked files differ from it (``None`` outside a git checkout)."""

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=repo_root(), capture_output=True, text=True, timeout=60
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    sha = git("rev-parse", "HEAD")
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"sha": sha, "dirty": None if status is None else bool(status)}


def package_versions(extra: tuple[str, ...] = ()) -> dict[str, str | None]:
    versions: dict[str, str | None] = {}
    for name in (*TRACKED_PACKAGES, *extra):
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def peak_memory_mb() -> float:
    """Peak resident memory of this process (the kernel) in MiB."""
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(rss_kb / 1024, 1)


def environment() -> dict[str, object]:
    return {
        "python": sys.version.split()[0],
        "os": platform.platform(),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads_env": {k: os.environ.get(k) for k in ("REPRO_THREADS", "OMP_NUM_THREADS")},
    }
