"""Data that every machine has: scikit-learn's bundled datasets, imbalanced and one-vs-rest views
of them, synthetic generators, and the pattern for the papers' real datasets kept in ``data/``.

Nothing is downloaded: a loader for a public dataset reads the user's local copy and, when it is
missing, raises :class:`MissingDatasetError` saying which files to put where.
"""

from repro.data.bundled import BUNDLED, load_bundled
from repro.data.idx import IDX_DATASETS, load_idx_dataset, read_idx
from repro.data.local import MissingDatasetError, require_local_files
from repro.data.views import imbalanced_subsample, one_vs_rest, synthetic_imbalanced

__all__ = [
    "BUNDLED",
    "IDX_DATASETS",
    "MissingDatasetError",
    "imbalanced_subsample",
    "load_bundled",
    "load_idx_dataset",
    "one_vs_rest",
    "read_idx",
    "require_local_files",
    "synthetic_imbalanced",
]
