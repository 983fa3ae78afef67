"""Merges that resolve interference between task vectors: TIES and PCB.

Both work on the task vectors ``tau_t = theta_t - theta_0`` flattened over all parameters
(``T x d`` matrix, one row per task), as in the official code, and return
``theta_0 + lambda * tau_merged``.

**TIES** (Yadav, Tam, Choshen, Raffel & Bansal, "TIES-Merging: Resolving Interference When
Merging Models", NeurIPS 2023, Algorithm 1):

1. *trim*: keep the ``density`` fraction of entries of each ``tau_t`` with the largest magnitude,
   zero the rest;
2. *elect*: ``gamma = sign(sum_t tau_hat_t)`` per entry (the sign of the larger total mass);
   entries whose sum is exactly 0 take the sign of ``sum(gamma)`` (official
   ``resolve_zero_signs``, "majority");
3. *disjoint merge*: ``tau_m = mean of tau_hat_t over the t with tau_hat_t != 0 and
   sign(tau_hat_t) = gamma`` (0 where there are none).

**PCB** (Du et al., "Parameter Competition Balancing for Model Merging", NeurIPS 2024,
Section 3; official ``pcb-merging.py``, ``PCB_merge``), with ``n`` tasks and ``Norm`` the
min-max normalisation of each task's row:

1. clamp ``|tau_t|`` per task to its [0.01 %, 99.99 %] order statistics (signs kept);
2. intra-balancing ``beta_intra = exp(n * Norm(|tau_t|)^2)`` (the paper's softmax over a task's
   entries differs from it by a positive factor per task, which step 5 cancels);
3. inter-balancing ``beta_inter = tanh(tau_t * sum_j tau_j)`` (the official code's form; the
   paper writes a sum of softmaxes of ``Norm(tau_i * tau_j)``), negative where ``tau_t``
   disagrees with the other tasks' sum;
4. ``beta = beta_intra * beta_inter``;
5. *drop*: per task, raise every score below the ``(1 - ratio)`` order statistic to it, then
   min-max normalise: the dropped entries get weight 0, the rest weights in (0, 1];
6. *rescale*: ``tau_m = sum_t beta_t tau_t / max(sum_t beta_t, 1e-12)`` elementwise, with the
   clamped task vectors of step 1.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch

from repro.methods.merging.params import StateDict, _check_same_keys, flatten, unflatten


def stacked_task_vectors(
    base: Mapping[str, torch.Tensor], finetuned: Sequence[Mapping[str, torch.Tensor]]
) -> torch.Tensor:
    """The ``T x d`` matrix of flattened task vectors ``theta_t - theta_0``."""
    _check_same_keys([base, *finetuned])
    flat_base = flatten(base)
    return torch.stack([flatten(f) - flat_base for f in finetuned])


def _from_merged_vector(
    base: Mapping[str, torch.Tensor], tau: torch.Tensor, scale: float
) -> StateDict:
    return unflatten(flatten(base) + scale * tau, base)


# ---------------------------------------------------------------------------------------- TIES


def trim_top_magnitude(tau: torch.Tensor, density: float) -> torch.Tensor:
    """Keep the ``k = max(1, floor(d * density))`` largest-magnitude entries of each row (ties
    at the threshold kept too) and zero the rest. (The official ``topk_values_mask`` keeps one
    entry more, ``|tau| >=`` the ``(d - k)``-th smallest; the difference vanishes for large d.)"""
    if not 0.0 < density <= 1.0:
        raise ValueError(f"density must lie in (0, 1]; got {density}")
    d = tau.shape[1]
    k = max(1, int(d * density))
    if k >= d:
        return tau.clone()
    threshold = tau.abs().kthvalue(d - k + 1, dim=1, keepdim=True).values
    return tau * (tau.abs() >= threshold)


def elect_signs(trimmed: torch.Tensor) -> torch.Tensor:
    """``sign(sum_t tau_hat_t)``; exact zeros take the majority sign ``sign(sum(gamma))``."""
    gamma = torch.sign(trimmed.sum(dim=0))
    gamma[gamma == 0] = torch.sign(gamma.sum())
    return gamma


def disjoint_mean(trimmed: torch.Tensor, gamma: torch.Tensor) -> torch.Tensor:
    """Mean over the tasks whose (nonzero) entry has the elected sign."""
    agree = torch.where(gamma > 0, trimmed > 0, trimmed < 0)
    selected = trimmed * agree
    return selected.sum(dim=0) / agree.sum(dim=0).clamp(min=1)


def ties_vector(tau: torch.Tensor, density: float = 0.2) -> torch.Tensor:
    """TIES' merged task vector from the ``T x d`` task vectors (trim, elect, disjoint mean)."""
    trimmed = trim_top_magnitude(tau, density)
    return disjoint_mean(trimmed, elect_signs(trimmed))


def ties_merge(
    base: Mapping[str, torch.Tensor],
    finetuned: Sequence[Mapping[str, torch.Tensor]],
    density: float = 0.2,
    scale: float = 1.0,
) -> StateDict:
    """``theta_0 + lambda * ties_vector(...)``; the paper's defaults are density 0.2 (top 20 %)
    and ``lambda`` chosen on validation data."""
    return _from_merged_vector(
        base, ties_vector(stacked_task_vectors(base, finetuned), density), scale
    )


# ----------------------------------------------------------------------------------------- PCB


def clamp_order_statistics(x: torch.Tensor, low: float, high: float) -> torch.Tensor:
    """Clamp each row to ``[x_(floor(d low)), x_(floor(d (1 - high)) - 1)]`` (0-based order
    statistics, the official ``clamp``): ``high`` clips the largest values, ``low`` raises the
    smallest."""
    d = x.shape[1]
    ordered = x.sort(dim=1).values
    lo = ordered[:, min(int(d * low), d - 1)].unsqueeze(1)
    hi = ordered[:, max(int(d * (1 - high)) - 1, 0)].unsqueeze(1)
    return torch.maximum(torch.minimum(x, hi), lo)


def minmax_rows(x: torch.Tensor) -> torch.Tensor:
    """Min-max normalise each row to [0, 1] (a constant row becomes 0)."""
    lo = x.min(dim=1, keepdim=True).values
    hi = x.max(dim=1, keepdim=True).values
    return (x - lo) / (hi - lo).clamp(min=torch.finfo(x.dtype).tiny)


def pcb_weights(tau: torch.Tensor, ratio: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """PCB steps 1-5: ``(clamped task vectors, weights in [0, 1])``, both ``T x d``."""
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must lie in (0, 1]; got {ratio}")
    n = tau.shape[0]
    magnitude = clamp_order_statistics(tau.abs(), 1e-4, 1e-4)
    clamped = torch.sign(tau) * magnitude
    intra = torch.exp(n * minmax_rows(magnitude) ** 2)
    inter = torch.tanh(tau * tau.sum(dim=0, keepdim=True))
    beta = intra * inter
    weights = minmax_rows(clamp_order_statistics(beta, 1.0 - ratio, 0.0))
    return clamped, weights


def pcb_vector(tau: torch.Tensor, ratio: float = 0.1) -> torch.Tensor:
    """PCB's merged task vector ``sum_t beta_t tau_t / max(sum_t beta_t, 1e-12)``."""
    clamped, weights = pcb_weights(tau, ratio)
    return (weights * clamped).sum(dim=0) / weights.sum(dim=0).clamp(min=1e-12)


def pcb_merge(
    base: Mapping[str, torch.Tensor],
    finetuned: Sequence[Mapping[str, torch.Tensor]],
    ratio: float = 0.1,
    scale: float = 1.0,
) -> StateDict:
    """``theta_0 + lambda * pcb_vector(...)``; ``ratio`` is the fraction of each task's entries
    kept (official default 0.1, example 0.05), ``lambda`` chosen on validation data."""
    return _from_merged_vector(
        base, pcb_vector(stacked_task_vectors(base, finetuned), ratio), scale
    )
