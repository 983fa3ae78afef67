"""The MNIST / Fashion-MNIST loader reads IDX files written here by hand (gzipped and raw),
rejects malformed ones, and names the folder and files when the local copy is missing."""

import gzip
import struct

import numpy as np
import pytest

from repro import data
from repro.data.idx import IDX_FILES


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_dataset(folder, n_train=5, n_test=3, gz=True, rng=None):
    rng = rng or np.random.default_rng(0)
    folder.mkdir(parents=True)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)),
        "train_labels": rng.integers(0, 10, n_train),
        "test_images": rng.integers(0, 256, (n_test, 28, 28)),
        "test_labels": rng.integers(0, 10, n_test),
    }
    for key, array in arrays.items():
        raw = idx_bytes(array)
        if gz:
            (folder / (IDX_FILES[key] + ".gz")).write_bytes(gzip.compress(raw))
        else:
            (folder / IDX_FILES[key]).write_bytes(raw)
    return arrays


@pytest.mark.parametrize("gz", [True, False])
def test_loads_what_was_written(tmp_path, monkeypatch, gz):
    monkeypatch.setenv("REPRO_ROOT", str(tmp_path))
    arrays = write_dataset(tmp_path / "data" / "fashion-mnist", gz=gz)
    X_tr, y_tr, X_te, y_te = data.load_idx_dataset("fashion-mnist")
    assert X_tr.shape == (5, 784) and X_te.shape == (3, 784) and X_tr.dtype == np.float32
    np.testing.assert_allclose(X_tr * 255.0, arrays["train_images"].reshape(5, -1), atol=1e-3)
    np.testing.assert_array_equal(y_te, arrays["test_labels"])
    assert y_tr.dtype == np.int64 and 0.0 <= X_te.min() and X_te.max() <= 1.0


def test_missing_files_are_named_with_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("REPRO_ROOT", str(tmp_path))
    with pytest.raises(data.MissingDatasetError) as err:
        data.load_idx_dataset("mnist")
    message = str(err.value)
    assert str(tmp_path / "data" / "mnist") in message
    assert all(stem in message for stem in IDX_FILES.values())
    with pytest.raises(ValueError, match="unknown IDX dataset"):
        data.load_idx_dataset("cifar10")


def test_malformed_files_are_refused(tmp_path):
    good = idx_bytes(np.zeros((2, 3), dtype=np.uint8))
    (tmp_path / "magic").write_bytes(b"\x01" + good[1:])
    (tmp_path / "short").write_bytes(good[:-1])
    (tmp_path / "float").write_bytes(good[:2] + b"\x0d" + good[3:])
    with pytest.raises(ValueError, match="magic"):
        data.read_idx(tmp_path / "magic")
    with pytest.raises(ValueError, match="declared shape"):
        data.read_idx(tmp_path / "short")
    with pytest.raises(ValueError, match="unsigned-byte"):
        data.read_idx(tmp_path / "float")
    (tmp_path / "ok").write_bytes(good)
    assert data.read_idx(tmp_path / "ok").shape == (2, 3)
