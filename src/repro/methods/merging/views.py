"""Data views shared by the merging notebooks: digit "domains" and disjoint label subsets.

The merging papers fine-tune one base model on several datasets (Daheim et al. 2024: IMDB plus
four sentiment datasets of very different sizes; Du et al. 2024: eight image-classification
tasks) or merge models trained on different label spaces (Nasery et al. 2025). The small-scale
stand-ins are built from scikit-learn's 8x8 digits (pixels scaled to [0, 1]):

* a **domain** is a fixed transform of the images (rotation, flip, inversion, noise, ...); every
  domain has its own train / validation / test images, of sizes chosen by the notebook (unequal
  on purpose, so that weighting by dataset size matters);
* the source images are split once into train / validation / test pools, and every domain draws
  its images from the matching pool, so no test image is seen by any model in any transform;
* a **label subset** keeps the classes of one group, relabelled ``0..k-1``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from repro.data import load_bundled

SIDE = 8


def _images(X: np.ndarray) -> np.ndarray:
    return X.reshape(-1, SIDE, SIDE)


def _block_permutation(rng: np.random.Generator, block: int = 2) -> np.ndarray:
    """A pixel order that shuffles the 2x2 blocks of an 8x8 image (fixed per domain)."""
    n = SIDE // block
    blocks = rng.permutation(n * n)
    index = np.arange(SIDE * SIDE).reshape(SIDE, SIDE)
    tiles = [
        index[r * block : (r + 1) * block, c * block : (c + 1) * block]
        for r in range(n)
        for c in range(n)
    ]
    out = np.empty_like(index)
    for target, source in enumerate(blocks):
        r, c = divmod(target, n)
        out[r * block : (r + 1) * block, c * block : (c + 1) * block] = tiles[source]
    return out.reshape(-1)


def _shift(X: np.ndarray, dy: int, dx: int) -> np.ndarray:
    out = np.zeros_like(_images(X))
    src = _images(X)[:, max(0, -dy) : SIDE - max(0, dy), max(0, -dx) : SIDE - max(0, dx)]
    out[:, max(0, dy) : SIDE - max(0, -dy), max(0, dx) : SIDE - max(0, -dx)] = src
    return out.reshape(len(X), -1)


def _downscale(X: np.ndarray) -> np.ndarray:
    pooled = _images(X).reshape(-1, SIDE // 2, 2, SIDE // 2, 2).mean(axis=(2, 4))
    return pooled.repeat(2, axis=1).repeat(2, axis=2).reshape(len(X), -1)


TRANSFORMS = (
    "identity",  # the clean digits
    "rotate90",  # rotated a quarter turn counter-clockwise
    "flip",  # mirrored left-right
    "invert",  # 1 - pixel
    "shift",  # moved 2 pixels right and 1 down (zero fill)
    "contrast",  # 0.4 * pixel + 0.3
    "noise",  # additive Gaussian noise, sd 0.3, clipped to [0, 1]
    "blocks",  # the 2x2 pixel blocks shuffled by one fixed permutation
    "downscale",  # 2x2 average pooling, then nearest upsampling
    "transpose",  # rows and columns exchanged
)


def make_transform(name: str, rng: np.random.Generator):
    """The fixed transform ``X -> X'`` of flat 8x8 images called ``name`` (see ``TRANSFORMS``);
    ``rng`` draws what is fixed per domain (the block order) and, for ``noise``, the noise."""
    if name not in TRANSFORMS:
        raise ValueError(f"unknown transform {name!r}; choose one of {', '.join(TRANSFORMS)}")
    if name == "identity":
        return lambda X: X.copy()
    if name == "rotate90":
        return lambda X: np.rot90(_images(X), 1, axes=(1, 2)).reshape(len(X), -1)
    if name == "flip":
        return lambda X: _images(X)[:, :, ::-1].reshape(len(X), -1)
    if name == "invert":
        return lambda X: 1.0 - X
    if name == "shift":
        return lambda X: _shift(X, 1, 2)
    if name == "contrast":
        return lambda X: 0.4 * X + 0.3
    if name == "noise":
        return lambda X: np.clip(X + 0.3 * rng.standard_normal(X.shape), 0.0, 1.0)
    if name == "blocks":
        order = _block_permutation(rng)
        return lambda X: X[:, order]
    if name == "downscale":
        return _downscale
    return lambda X: _images(X).transpose(0, 2, 1).reshape(len(X), -1)


@dataclass
class Domain:
    """One transformed digits dataset with its own train / validation / test split."""

    name: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def n_train(self) -> int:
        return len(self.y_train)


def digits_pools(
    rng: np.random.Generator, val_fraction: float = 0.15, test_fraction: float = 0.25
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The digits (pixels in [0, 1]) split at random into ``train``, ``val`` and ``test`` pools."""
    X, y = load_bundled("digits")
    X = X / 16.0
    order = rng.permutation(len(y))
    n_val, n_test = round(val_fraction * len(y)), round(test_fraction * len(y))
    parts = {
        "val": order[:n_val],
        "test": order[n_val : n_val + n_test],
        "train": order[n_val + n_test :],
    }
    return {k: (X[idx], y[idx]) for k, idx in parts.items()}


def digits_domains(
    transforms: Sequence[str],
    n_train: Sequence[int],
    rng: np.random.Generator,
    n_val: int | Sequence[int] = 100,
    n_test: int | Sequence[int] | None = None,
    pools: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> list[Domain]:
    """One :class:`Domain` per transform, with ``n_train[i]`` training images drawn without
    replacement from the train pool (independently per domain), ``n_val`` validation images
    from the validation pool and ``n_test`` test images (``None``: the whole test pool)."""
    if len(transforms) != len(n_train):
        raise ValueError("need one training size per transform")
    pools = pools or digits_pools(rng)
    k = len(transforms)
    vals = np.broadcast_to(np.asarray(n_val), (k,))
    tests = np.broadcast_to(np.asarray(len(pools["test"][1]) if n_test is None else n_test), (k,))

    def draw(pool: str, n: int) -> tuple[np.ndarray, np.ndarray]:
        X, y = pools[pool]
        if not 0 < n <= len(y):
            raise ValueError(f"cannot draw {n} images from the {pool} pool of {len(y)}")
        idx = np.sort(rng.choice(len(y), size=int(n), replace=False))
        return X[idx], y[idx]

    domains = []
    for name, n_tr, n_va, n_te in zip(transforms, n_train, vals, tests, strict=True):
        f = make_transform(name, rng)
        (Xtr, ytr), (Xva, yva), (Xte, yte) = (
            draw("train", n_tr),
            draw("val", n_va),
            draw("test", n_te),
        )
        domains.append(Domain(name, f(Xtr), ytr, f(Xva), yva, f(Xte), yte))
    return domains


def label_subset(
    X: np.ndarray, y: np.ndarray, classes: Sequence[int]
) -> tuple[np.ndarray, np.ndarray]:
    """The rows whose label is in ``classes``, relabelled ``0..len(classes)-1`` in that order."""
    classes = list(classes)
    missing = set(classes) - set(np.unique(y).tolist())
    if missing:
        raise ValueError(f"classes {sorted(missing)} do not occur in y")
    keep = np.isin(y, classes)
    lookup = {c: i for i, c in enumerate(classes)}
    return X[keep], np.array([lookup[c] for c in y[keep]], dtype=np.int64)
