"""Backward compatibility of a model update, for :func:`repro.methods.merging.bcwi`:
the negative-flip rate, the old model's Fisher in the official code's scaling and weighting,
interpolation paths, and the choice of the interpolation weight on validation data.

Schumann, Mansimov, Lai, Pappas, Gao & Zhang, "Backward Compatibility During Data Updates by
Weight Interpolation", EACL 2024 (arXiv:2301.10546).

* **Negative-flip rate** of an update from an old model to a new one on ``n`` labelled examples:

      NFR = (1/n) sum_i 1[old(x_i) = y_i  and  new(x_i) != y_i],

  the share of examples that the old model got right and the new one gets wrong.
* **BCWI** (plain): ``theta(alpha) = alpha theta_old + (1 - alpha) theta_new``, where
  ``alpha`` weights the *old* model (official code: ``bcwi/utils.py``, ``interpolate_weights``);
  with several new models, ``theta_new`` is their average (the "soup").
* **Fisher-weighted BCWI**, as the official code does it: only the old model is weighted by its
  diagonal Fisher ``F``, the new model by one,

      theta(alpha) = (alpha F theta_old + (1 - alpha) theta_new) / (alpha F + (1 - alpha)),

  with ``F`` the empirical Fisher at the old model's own predicted labels (squared per-example
  gradients of ``log p(argmax | x)``), divided by its mean over all parameters so that its mean
  is one (``create_fisher_information_matrix.py``, ``get_diag_fisher(..., full=False,
  scale=True)``; :func:`old_model_fisher`). The new model carries no Fisher of its own: the
  official ``interpolate_weights(..., weighted=F)`` multiplies the old weights by ``alpha F``,
  adds ``(1 - alpha)`` times the new ones and divides by ``alpha F + (1 - alpha)``. This is
  :func:`~repro.methods.merging.bcwi` given ``fisher_old`` only.
* **Choice of alpha** on validation data: the weight with the lowest validation NFR among those
  whose validation accuracy is at least the new model's minus a tolerance (ties: higher
  validation accuracy, then the smaller weight). The official selection script is not public in
  our sources; this rule is the one stated in the notebook before any report seed was run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch
from torch import nn

from repro.methods.merging.fisher import diagonal_fisher
from repro.methods.merging.params import StateDict, mlp_from_state
from repro.training import predict_logits


def negative_flip_rate(y: np.ndarray, pred_old: np.ndarray, pred_new: np.ndarray) -> float:
    """Share of examples the old model classifies correctly and the new one does not."""
    y, pred_old, pred_new = (np.asarray(a) for a in (y, pred_old, pred_new))
    if not y.shape == pred_old.shape == pred_new.shape or y.ndim != 1:
        raise ValueError("y, pred_old and pred_new must be 1-D arrays of equal length")
    if y.size == 0:
        raise ValueError("no examples")
    return float(np.mean((pred_old == y) & (pred_new != y)))


def unit_mean(fisher: Mapping[str, torch.Tensor]) -> StateDict:
    """The Fisher divided by its mean over every entry of every parameter (mean one)."""
    mean = torch.cat([v.flatten() for v in fisher.values()]).mean()
    if not mean > 0:
        raise ValueError("the Fisher is zero everywhere; nothing to scale")
    return {k: v / mean for k, v in fisher.items()}


def old_model_fisher(
    model: nn.Module, X: np.ndarray, batch_size: int = 256, device: str = "cpu"
) -> StateDict:
    """The old model's Fisher as the official code builds it (module docstring): the empirical
    Fisher of ``model`` on ``X`` at its own predicted labels, scaled to mean one; on the CPU."""
    pred = predict_logits(model, X, device).argmax(1)
    fisher = diagonal_fisher(model, X, pred, batch_size=batch_size, device=device)
    return {k: v.cpu() for k, v in unit_mean(fisher).items()}


def interpolation_path(
    merge: Callable[[float], Mapping[str, torch.Tensor]],
    alphas: Sequence[float],
    X: np.ndarray,
    y: np.ndarray,
    pred_old: np.ndarray,
    device: str = "cpu",
) -> tuple[np.ndarray, np.ndarray]:
    """Accuracy and NFR (against ``pred_old``) of the merged model ``merge(alpha)`` on ``(X, y)``
    for every ``alpha``; two arrays of ``len(alphas)``."""
    acc, nfr = np.empty(len(alphas)), np.empty(len(alphas))
    for i, a in enumerate(alphas):
        pred = predict_logits(mlp_from_state(merge(float(a))), X, device).argmax(1)
        acc[i] = float(np.mean(pred == y))
        nfr[i] = negative_flip_rate(y, pred_old, pred)
    return acc, nfr


def select_alpha(
    val_accuracy: Sequence[float],
    val_nfr: Sequence[float],
    reference_accuracy: float,
    tolerance: float = 0.0,
) -> int:
    """Index of the interpolation weight with the lowest validation NFR among those whose
    validation accuracy is at least ``reference_accuracy - tolerance``; ties go to the higher
    accuracy, then to the earlier index. When none qualifies, the most accurate one."""
    acc, nfr = np.asarray(val_accuracy, dtype=float), np.asarray(val_nfr, dtype=float)
    if acc.shape != nfr.shape or acc.ndim != 1 or acc.size == 0:
        raise ValueError("val_accuracy and val_nfr must be non-empty 1-D and of equal length")
    if tolerance < 0:
        raise ValueError(f"tolerance must be >= 0; got {tolerance}")
    eligible = np.flatnonzero(acc >= reference_accuracy - tolerance - 1e-12)
    if eligible.size == 0:
        return int(np.argmax(acc))
    # lexsort: last key is primary -> lowest NFR, then highest accuracy, then smallest index
    order = np.lexsort((eligible, -acc[eligible], nfr[eligible]))
    return int(eligible[order[0]])
