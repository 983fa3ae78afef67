"""MNIST and Fashion-MNIST from the user's local copy, in the IDX format they are published in.

LeCun, Cortes & Burges, "The MNIST database of handwritten digits"; Xiao, Rasul & Vollgraf,
"Fashion-MNIST: a Novel Image Dataset for Benchmarking Machine Learning Algorithms" (2017). Both
ship as four IDX files (gzipped or not): a big-endian header (two zero bytes, a type code, the
number of dimensions, then one 32-bit size per dimension) followed by the unsigned bytes.
Nothing is downloaded: the files must be in ``data/mnist/`` or ``data/fashion-mnist/``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from repro.data.local import MissingDatasetError
from repro.paths import data_dir

IDX_DATASETS = {
    "mnist": "http://yann.lecun.com/exdb/mnist/ (or any mirror of the four IDX files)",
    "fashion-mnist": "https://github.com/zalandoresearch/fashion-mnist (data/fashion)",
}
IDX_FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
_UBYTE = 0x08


def read_idx(path: Path | str) -> np.ndarray:
    """An unsigned-byte IDX file (``.gz`` or raw) as a uint8 array of its declared shape."""
    path = Path(path)
    raw = gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"{path} is not an IDX file (bad magic number)")
    if raw[2] != _UBYTE:
        raise ValueError(f"{path}: only unsigned-byte IDX data is supported (type {raw[2]:#x})")
    ndim = raw[3]
    header = 4 + 4 * ndim
    shape = tuple(int(s) for s in np.frombuffer(raw[4:header], dtype=">u4"))
    if len(raw) - header != int(np.prod(shape)):
        raise ValueError(f"{path}: {len(raw) - header} data bytes for declared shape {shape}")
    return np.frombuffer(raw[header:], dtype=np.uint8).reshape(shape)


def _find(folder: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def load_idx_dataset(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(X_train, y_train, X_test, y_test)`` of MNIST or Fashion-MNIST from ``data/<name>/``:
    images flattened to 784 float32 pixels in [0, 1], labels as int64."""
    if name not in IDX_DATASETS:
        raise ValueError(f"unknown IDX dataset {name!r}; choose one of {', '.join(IDX_DATASETS)}")
    folder = data_dir() / name
    paths = {key: _find(folder, stem) for key, stem in IDX_FILES.items()}
    missing = [IDX_FILES[key] + "[.gz]" for key, p in paths.items() if p is None]
    if missing:
        raise MissingDatasetError(
            f"the {name!r} dataset is not available locally: put {', '.join(missing)} in "
            f"{folder}/ (obtain them from {IDX_DATASETS[name]}; nothing is downloaded at run "
            "time, see data/README.md)"
        )
    arrays = {key: read_idx(p) for key, p in paths.items()}
    out = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_images"], arrays[f"{split}_labels"]
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise ValueError(
                f"{name} {split}: images {images.shape} and labels {labels.shape} do not match"
            )
        out += [images.reshape(len(images), -1).astype(np.float32) / 255.0, labels.astype(np.int64)]
    return out[0], out[1], out[2], out[3]
