"""What weight matching changes, seen through each layer's singular value decomposition.

Ito, Yamada & Kumagai, "Analysis of Linear Mode Connectivity via Permutation-Based Weight
Matching" (ICLR 2025, arXiv 2402.04051), Section 4: a hidden-unit permutation maps a layer's
weights ``W`` to ``P W Q^T`` with permutation matrices ``P`` (the layer's outputs) and ``Q`` (its
inputs). With ``W = U S V^T``,

    P W Q^T = (P U) S (Q V)^T,

so permutations never change the singular values ``S``; they only move the singular vectors.
Weight matching maximises ``sum_l <W_l^A, P_l W_l^B P_{l-1}^T>_F``, and per layer

    <W^A, P W^B Q^T>_F = sum_{i,j} s_i^A s_j^B (u_i^A . P u_j^B)(v_i^A . Q v_j^B),

a sum dominated by the pairs with large singular values: the paper's claim is that weight
matching mainly aligns the singular vectors of the *large* singular values, which carry the
function, while barely shrinking the overall distance ``||theta_A - pi(theta_B)||``.

The measures here compare two same-shaped layers after any permutation has been applied:

* rank-wise alignment ``a_i = |u_i^A . u_i^B| * |v_i^A . v_i^B|`` (1 for identical directions,
  about ``1/n`` for random ones; the sign of a singular pair is arbitrary, hence the absolute
  values);
* the relative distance ``||theta_A - theta_B|| / sqrt(||theta_A||^2 + ||theta_B||^2)``, which is
  about 1 for unrelated models of equal norm.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from repro.methods.merging.params import flatten, linear_layer_names


def layer_weights(state: Mapping[str, torch.Tensor]) -> list[np.ndarray]:
    """The weight matrices of an MLP state dict, first layer first, as float64 arrays."""
    return [
        state[f"{name}.weight"].detach().cpu().double().numpy()
        for name in linear_layer_names(state)
    ]


def rankwise_alignment(W_a: np.ndarray, W_b: np.ndarray) -> np.ndarray:
    """``|u_i^A . u_i^B| * |v_i^A . v_i^B|`` for every rank ``i`` (largest singular value first)."""
    if W_a.shape != W_b.shape:
        raise ValueError(f"layers differ in shape: {W_a.shape} vs {W_b.shape}")
    U_a, _, Vt_a = np.linalg.svd(W_a, full_matrices=False)
    U_b, _, Vt_b = np.linalg.svd(W_b, full_matrices=False)
    return np.abs(np.sum(U_a * U_b, axis=0)) * np.abs(np.sum(Vt_a * Vt_b, axis=1))


def rank_band_alignment(
    W_a: np.ndarray, W_b: np.ndarray, top_fraction: float, bottom_fraction: float
) -> tuple[float, float]:
    """Mean rank-wise alignment over the top ``top_fraction`` and the bottom ``bottom_fraction``
    of the ranks (at least one rank each)."""
    alignment = rankwise_alignment(W_a, W_b)
    n = alignment.size
    n_top = max(1, round(top_fraction * n))
    n_bottom = max(1, round(bottom_fraction * n))
    return float(alignment[:n_top].mean()), float(alignment[n - n_bottom :].mean())


def singular_values(state: Mapping[str, torch.Tensor]) -> list[np.ndarray]:
    """Singular values of every layer (invariant under hidden-unit permutations)."""
    return [np.linalg.svd(W, compute_uv=False) for W in layer_weights(state)]


def distance(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> float:
    """``||theta_A - theta_B||_2`` over all parameters."""
    return float(torch.linalg.vector_norm(flatten(a).double() - flatten(b).double()))


def relative_distance(a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor]) -> float:
    """``||theta_A - theta_B|| / sqrt(||theta_A||^2 + ||theta_B||^2)`` (about 1 if unrelated)."""
    norm = torch.sqrt(
        torch.linalg.vector_norm(flatten(a).double()) ** 2
        + torch.linalg.vector_norm(flatten(b).double()) ** 2
    )
    return distance(a, b) / float(norm)
