"""Curvature-weighted merges: diagonal Fisher, Fisher averaging, the uncertainty-based
gradient-matching merge, and backward-compatible weight interpolation.

**Diagonal Fisher** of a classifier ``p(y | x, theta)`` on examples ``x_1..x_N``, per example:

    F = (1/N) sum_i E_{y ~ p(.|x_i, theta)} [ (grad_theta log p(y | x_i, theta))^2 ]  (elementwise),

estimated with ``n_samples`` labels drawn from the model's own predictive distribution (the
"true" Fisher, as in the official code of Daheim et al., ``trainer_hessians.py``, which uses
batches of one example), or with the observed labels ``y_i`` (the "empirical"/"observed"
Fisher). Squaring per-example gradients, not batch gradients, keeps the estimate independent of
the batch size.

**Fisher-weighted averaging** (Matena & Raffel, "Merging Models with Fisher-Weighted
Averaging", NeurIPS 2022): ``theta = sum_t w_t F_t theta_t / sum_t w_t F_t``
elementwise, with a small floor ``eps`` added to every Fisher (entries where every Fisher is
zero fall back to the weighted average).

**Uncertainty-based gradient matching** (Daheim, Möllenhoff, Ponti, Gurevych & Khan, "Model
Merging by Uncertainty-Based Gradient Matching", ICLR 2024, Section 3): for a base model
``theta_0`` trained on ``D_0`` and models ``theta_t`` fine-tuned from it on ``D_t``,

    theta = theta_0 + sum_t alpha_t * Hbar^{-1} (H_0 + H_t) (theta_t - theta_0),
    Hbar  = H_0 + sum_t alpha_t H_t,

with diagonal Hessian estimates scaled by the dataset sizes, ``H_0 = N_0 F_0`` and
``H_t = N_t F_t``, and ``delta`` added to numerator and denominator (official code,
``uncertainty_based_gradient_matching.py``: ``delta_0 = 1e-12``, ``scaling_factor_pt = N_0``,
``scaling_factors_ft = N_t``). Special cases (paper, Section 3): ``H_0 = 0`` gives Fisher
averaging with weights ``alpha_t N_t``; ``H_t = 0`` (so ``Hbar^{-1}(H_0 + H_t) = I``) gives task
arithmetic; equal isotropic curvature with ``alpha_t = 1/T`` gives simple averaging.

**Backward-compatible weight interpolation** (Schumann et al., "Backward Compatibility During
Data Updates by Weight Interpolation", EACL 2024): ``theta = alpha theta_old + (1 - alpha)
theta_new``, with ``theta_new`` the average ("soup") of several new models. The Fisher-weighted
form of the authors' code (``bcwi/utils.py``, ``interpolate_weights(..., weighted=F)``) weights
only the old model, ``theta = (alpha F_old theta_old + (1 - alpha) theta_new) / (alpha F_old +
(1 - alpha))``; giving new-model Fishers as well generalises it to ``F_new`` in place of one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap

from repro.methods.merging.params import StateDict, _check_same_keys, average


def diagonal_fisher(
    model: nn.Module,
    X: np.ndarray,
    y: np.ndarray | None = None,
    *,
    rng: np.random.Generator | None = None,
    n_samples: int = 1,
    batch_size: int = 256,
    device: str = "cpu",
) -> StateDict:
    """Per-example diagonal Fisher of ``model`` on ``X`` (module docstring), as a state dict of
    the parameters' shapes. ``y=None`` samples ``n_samples`` labels per example from the model
    with ``rng``; given ``y``, the observed labels are used (the empirical Fisher)."""
    if y is None and rng is None:
        raise ValueError("sampling labels from the model needs rng (or pass observed labels y)")
    model = model.to(device).eval()
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def log_prob(p: dict[str, torch.Tensor], x: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        logits = functional_call(model, (p, buffers), (x.unsqueeze(0),))
        return torch.log_softmax(logits, dim=-1)[0].gather(0, label.reshape(1))[0]

    per_example_grad = vmap(grad(log_prob), in_dims=(None, 0, 0))
    X_t = torch.as_tensor(X, dtype=torch.float32, device=device)
    if y is not None:
        labels = torch.as_tensor(np.asarray(y), device=device).long()
    else:  # n_samples labels per example by inverse-CDF sampling with rng
        with torch.no_grad():
            probs = torch.cat(
                [
                    torch.softmax(model(X_t[i : i + batch_size]), -1)
                    for i in range(0, len(X_t), batch_size)
                ]
            )
        cdf = np.cumsum(probs.double().cpu().numpy(), axis=1)
        u = rng.random((n_samples, len(X_t), 1)) * cdf[:, -1:]
        sampled = np.minimum((u > cdf[None]).sum(axis=2), cdf.shape[1] - 1)
        labels = torch.as_tensor(sampled.reshape(-1), device=device).long()
        X_t = X_t.repeat(n_samples, 1)
    total = {k: torch.zeros_like(v) for k, v in params.items()}
    for start in range(0, len(X_t), batch_size):
        grads = per_example_grad(
            params, X_t[start : start + batch_size], labels[start : start + batch_size]
        )
        for k, g in grads.items():
            total[k] += (g**2).sum(dim=0)
    return {k: v / len(X_t) for k, v in total.items()}


def fisher_average(
    states: Sequence[Mapping[str, torch.Tensor]],
    fishers: Sequence[Mapping[str, torch.Tensor]],
    weights: Sequence[float] | None = None,
    eps: float = 1e-8,
) -> StateDict:
    """Fisher-weighted average ``sum_t w_t (F_t + eps) theta_t / sum_t w_t (F_t + eps)``.
    Parameters without a Fisher entry (buffers) are averaged with the weights ``w_t``."""
    keys = _check_same_keys(states)
    if len(fishers) != len(states):
        raise ValueError("need one Fisher per model")
    w = np.ones(len(states)) if weights is None else np.asarray(weights, dtype=float)
    plain = average(states, w)
    merged = {}
    for k in keys:
        if k not in fishers[0]:
            merged[k] = plain[k]
            continue
        num = sum(
            float(wi) * (f[k] + eps) * s[k] for wi, f, s in zip(w, fishers, states, strict=True)
        )
        den = sum(float(wi) * (f[k] + eps) for wi, f in zip(w, fishers, strict=True))
        merged[k] = num / den
    return merged


def uncertainty_merge(
    base: Mapping[str, torch.Tensor],
    finetuned: Sequence[Mapping[str, torch.Tensor]],
    fishers: Sequence[Mapping[str, torch.Tensor]],
    sizes: Sequence[float],
    base_fisher: Mapping[str, torch.Tensor] | None = None,
    base_size: float = 0.0,
    alpha: float | Sequence[float] = 1.0,
    delta: float = 1e-12,
) -> StateDict:
    """The merge rule of Daheim et al. (2024), Section 3 (module docstring):
    ``theta_0 + sum_t alpha_t (H_0 + H_t + delta) / (H_0 + sum_s alpha_s H_s + delta) *
    (theta_t - theta_0)`` with ``H_t = N_t F_t`` (``sizes``) and ``H_0 = N_0 F_0``
    (``base_size``, ``base_fisher``; none means ``H_0 = 0``)."""
    keys = _check_same_keys([base, *finetuned])
    T = len(finetuned)
    if len(fishers) != T or len(sizes) != T:
        raise ValueError("need one Fisher and one dataset size per fine-tuned model")
    alphas = np.broadcast_to(np.asarray(alpha, dtype=float), (T,))
    merged = {}
    for k in keys:
        if k not in fishers[0]:
            merged[k] = base[k].clone()
            continue
        h0 = base_size * base_fisher[k] if base_fisher is not None else torch.zeros_like(base[k])
        hs = [float(n) * f[k] for n, f in zip(sizes, fishers, strict=True)]
        hbar = h0 + sum(float(a) * h for a, h in zip(alphas, hs, strict=True)) + delta
        step = sum(
            float(a) * (h0 + h + delta) / hbar * (f[k] - base[k])
            for a, h, f in zip(alphas, hs, finetuned, strict=True)
        )
        merged[k] = base[k] + step
    return merged


def bcwi(
    old: Mapping[str, torch.Tensor],
    new: Sequence[Mapping[str, torch.Tensor]],
    alpha: float,
    fisher_old: Mapping[str, torch.Tensor] | None = None,
    fishers_new: Sequence[Mapping[str, torch.Tensor]] | None = None,
    eps: float = 1e-8,
) -> StateDict:
    """Backward-compatible weight interpolation (module docstring): ``alpha`` is the weight of
    the old model. ``new`` holds one or more new models, averaged first (a soup). With
    ``fisher_old`` alone the interpolation is the official Fisher-weighted one (the new model
    weighted by one); ``fishers_new`` (averaged like the models) weights the new side too."""
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must lie in [0, 1]; got {alpha}")
    theta_new = average(new)
    if fisher_old is None:
        if fishers_new is not None:
            raise ValueError("fishers_new needs fisher_old")
        return average([old, theta_new], [alpha, 1.0 - alpha])
    if fishers_new is None:
        f_new = {k: torch.ones_like(v) for k, v in fisher_old.items()}
    else:
        f_new = {k: sum(f[k] for f in fishers_new) / len(fishers_new) for k in fishers_new[0]}
    return fisher_average([old, theta_new], [fisher_old, f_new], [alpha, 1.0 - alpha], eps)
