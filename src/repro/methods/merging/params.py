"""Parameters as state dicts: task vectors, averaging, task arithmetic, interpolation, barriers.

Every merge in this package works on ``StateDict`` objects (``{name: tensor}``, as returned by
``model.state_dict()``) of models with one architecture, here the shared
:class:`repro.models.MLP`. The operations and where they come from:

* task vector (Ilharco et al., "Editing Models with Task Arithmetic", ICLR 2023):
  ``tau_t = theta_t - theta_0`` for a model ``theta_t`` fine-tuned from ``theta_0``;
* simple (weighted) averaging: ``theta = sum_t w_t theta_t / sum_t w_t``;
* task arithmetic: ``theta = theta_0 + lambda * sum_t tau_t`` (Ilharco et al., with one
  scaling factor; Daheim et al. 2024 write it with per-task ``alpha_t``);
* linear interpolation of two models: ``theta(t) = (1 - t) theta_A + t theta_B``; its loss
  barrier ``max_t [L(theta(t)) - ((1 - t) L(theta_A) + t L(theta_B))]`` (Frankle et al. 2020;
  Ainsworth et al., "Git Re-Basin", ICLR 2023).

``mlp_from_state`` turns any MLP state dict (merged ones included, whose hidden widths may differ
from the inputs') back into a :class:`repro.models.MLP` so that it can be evaluated with
:mod:`repro.training`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from repro.models import MLP

StateDict = dict[str, torch.Tensor]


def state_of(model: nn.Module) -> StateDict:
    """A detached copy of a model's parameters and buffers (same device and dtype)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _check_same_keys(states: Sequence[Mapping[str, torch.Tensor]]) -> list[str]:
    if not states:
        raise ValueError("need at least one state dict")
    keys = list(states[0])
    for s in states[1:]:
        if list(s) != keys:
            raise ValueError("state dicts have different parameter names")
        for k in keys:
            if s[k].shape != states[0][k].shape:
                raise ValueError(
                    f"parameter {k!r} has shapes {states[0][k].shape} and {s[k].shape}"
                )
    return keys


def flatten(state: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """All parameters in state-dict order as one 1-D float tensor."""
    return torch.cat([v.reshape(-1).to(torch.float32) for v in state.values()])


def unflatten(vector: torch.Tensor, like: Mapping[str, torch.Tensor]) -> StateDict:
    """Inverse of :func:`flatten`: cut ``vector`` into tensors shaped like ``like``'s."""
    sizes = [v.numel() for v in like.values()]
    if vector.numel() != sum(sizes):
        raise ValueError(f"vector has {vector.numel()} entries, the state dict {sum(sizes)}")
    parts = torch.split(vector, sizes)
    return {
        k: p.reshape(v.shape).to(v.dtype) for (k, v), p in zip(like.items(), parts, strict=True)
    }


def task_vector(
    finetuned: Mapping[str, torch.Tensor], base: Mapping[str, torch.Tensor]
) -> StateDict:
    """``tau = theta_t - theta_0``, parameter by parameter."""
    keys = _check_same_keys([finetuned, base])
    return {k: finetuned[k] - base[k] for k in keys}


def add_scaled(
    base: Mapping[str, torch.Tensor], vector: Mapping[str, torch.Tensor], scale: float = 1.0
) -> StateDict:
    """``theta_0 + scale * tau``."""
    keys = _check_same_keys([base, vector])
    return {k: base[k] + scale * vector[k] for k in keys}


def average(
    states: Sequence[Mapping[str, torch.Tensor]], weights: Sequence[float] | None = None
) -> StateDict:
    """Weighted average ``sum_t w_t theta_t / sum_t w_t`` (equal weights by default): simple
    averaging of models, or a "model soup" of several runs."""
    keys = _check_same_keys(states)
    w = np.ones(len(states)) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (len(states),) or w.sum() == 0:
        raise ValueError("need one weight per model, not summing to zero")
    w = w / w.sum()
    return {k: sum(float(wi) * s[k] for wi, s in zip(w, states, strict=True)) for k in keys}


def task_arithmetic(
    base: Mapping[str, torch.Tensor],
    finetuned: Sequence[Mapping[str, torch.Tensor]],
    scale: float | Sequence[float] = 1.0,
) -> StateDict:
    """``theta_0 + sum_t lambda_t (theta_t - theta_0)``; one ``scale`` for all tasks or one per
    task. ``scale = 1/T`` is simple averaging of the fine-tuned models."""
    keys = _check_same_keys([base, *finetuned])
    scales = np.broadcast_to(np.asarray(scale, dtype=float), (len(finetuned),))
    return {
        k: base[k]
        + sum(float(s) * (f[k] - base[k]) for s, f in zip(scales, finetuned, strict=True))
        for k in keys
    }


def interpolate(
    a: Mapping[str, torch.Tensor], b: Mapping[str, torch.Tensor], t: float
) -> StateDict:
    """The point ``(1 - t) theta_A + t theta_B`` on the segment from ``a`` (t = 0) to ``b``
    (t = 1); ``t`` outside [0, 1] extrapolates."""
    keys = _check_same_keys([a, b])
    return {k: torch.lerp(a[k].float(), b[k].float(), float(t)).to(a[k].dtype) for k in keys}


def loss_barrier(ts: Sequence[float], losses: Sequence[float]) -> float:
    """Barrier of a loss curve along an interpolation path: ``max_k [L(t_k) - ((1 - t_k) L(0) +
    t_k L(1))]`` where ``ts`` runs from 0 to 1 and ``losses[k]`` is the loss at ``ts[k]``.
    Zero when the path is no worse than the straight line between the end points' losses."""
    t = np.asarray(ts, dtype=float)
    v = np.asarray(losses, dtype=float)
    if t.shape != v.shape or t.size < 2 or t[0] != 0.0 or t[-1] != 1.0:
        raise ValueError("ts must run from 0 to 1 with one loss per point")
    return float(np.max(v - ((1 - t) * v[0] + t * v[-1])))


def linear_layer_names(state: Mapping[str, torch.Tensor]) -> list[str]:
    """Prefixes of the Linear layers of an MLP state dict, input to output (``['0', '2', ...]``)."""
    names = [
        k[: -len(".weight")] for k, v in state.items() if k.endswith(".weight") and v.ndim == 2
    ]
    if not names:
        raise ValueError("no Linear weights found in the state dict")
    return names


def mlp_widths(state: Mapping[str, torch.Tensor]) -> tuple[int, list[int], int]:
    """``(in_dim, hidden widths, out_dim)`` of an MLP state dict."""
    weights = [state[f"{n}.weight"] for n in linear_layer_names(state)]
    return weights[0].shape[1], [w.shape[0] for w in weights[:-1]], weights[-1].shape[0]


def mlp_from_state(state: Mapping[str, torch.Tensor]) -> MLP:
    """A :class:`repro.models.MLP` (no dropout) of the state's widths, loaded with it, on the
    state's device, in eval mode."""
    in_dim, hidden, out_dim = mlp_widths(state)
    model = MLP(in_dim, hidden, out_dim)
    ours = linear_layer_names(model.state_dict())
    theirs = linear_layer_names(state)
    renamed = {
        f"{o}.{part}": state[f"{t}.{part}"]
        for o, t in zip(ours, theirs, strict=True)
        for part in ("weight", "bias")
    }
    model.load_state_dict(renamed)
    return model.to(next(iter(state.values())).device).eval()
