"""PLeaS: partial permutation matching under a width budget, then layer-wise least squares.

Nasery, Hayase, Koh & Oh, "PLeaS: Merging Models with Permutations and Least Squares", CVPR
2025 (arXiv:2407.02447); official code ``SewoongLab/PLeaS-Merging``
(``pleas/methods/partial_matching.py``, ``pleas/methods/pleas_merging.py``).

1. *Match* the hidden units of models A and B (:mod:`.permutation`; activation or weight
   matching), giving pairs ``(i, p(i))`` with similarities ``s_i``.
2. *Partial merging under a width budget*: in a hidden layer of width ``n`` with a merged width
   ``w = n + u`` (``n <= w <= 2n``, ``width_ratio = w / n``), the ``u`` least similar pairs stay
   unmerged (both units are kept, one of A and one of B) and the other ``n - u`` pairs become one
   merged unit (official ``get_blocks``: a pair is merged when its similarity is at least the
   ``r``-quantile, ``r = u / n``). The merged layer's units are ordered
   ``[merged | A-only | B-only]``.
3. *Least squares* (paper, Section 3; official ``get_model_orig_activations``): each Linear layer of
   the merged model is fitted to the original models' layer maps on data ``X``. With ``h^A``,
   ``h^B`` the inputs of the layer in A and B and ``z^A``, ``z^B`` its pre-activation outputs,
   the merged layer's input is ``[(h^A_m + h^B_m) / 2, h^A_a, h^B_b]`` and its target
   ``[(z^A_m + z^B_m) / 2, z^A_a, z^B_b]``; ``W`` minimises ``||[H 1] [W b]^T - Z||^2 (+ ridge
   ||W||^2)``, with the weights from A-only inputs to B-only outputs and from B-only inputs to
   A-only outputs fixed at 0 (the official gradient mask). Each output block is an independent
   least-squares problem, solved in closed form here with ``torch.linalg.lstsq`` (the official
   code runs Adam on the same mean squared error). Inputs come from the original models
   (layer-local); ``sequential=True`` feeds the merged model's own activations instead.
4. *Heads*: with one label space the output layer is merged like any other (target: the mean
   of the logits); with different label spaces (``heads="separate"``) the output units are A's
   classes followed by B's, each head reading only the merged units and its own model's units.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from repro.methods.merging.params import StateDict, linear_layer_names
from repro.methods.merging.permutation import Matching, layer_io, permute_mlp

HEADS = ("shared", "separate")


@dataclass
class Blocks:
    """Units of one layer of the merged model: the matched pairs that are merged (A's indices
    ``merged_a`` with B's ``merged_b``) and the units kept from A only and from B only."""

    merged_a: np.ndarray
    merged_b: np.ndarray
    only_a: np.ndarray
    only_b: np.ndarray

    @property
    def width(self) -> int:
        return len(self.merged_a) + len(self.only_a) + len(self.only_b)

    @classmethod
    def all_merged(cls, n: int) -> Blocks:
        idx = np.arange(n)
        return cls(idx, idx, idx[:0], idx[:0])

    @classmethod
    def all_separate(cls, n_a: int, n_b: int) -> Blocks:
        empty = np.arange(0)
        return cls(empty, empty, np.arange(n_a), np.arange(n_b))


def partial_blocks(perm: np.ndarray, matched_similarity: np.ndarray, n_unmerged: int) -> Blocks:
    """Leave the ``n_unmerged`` least similar matched pairs unmerged, merge the rest (both in
    A's unit order)."""
    n = len(perm)
    if not 0 <= n_unmerged <= n:
        raise ValueError(f"n_unmerged must lie in [0, {n}]; got {n_unmerged}")
    order = np.argsort(matched_similarity, kind="stable")
    keep_apart = np.zeros(n, dtype=bool)
    keep_apart[order[:n_unmerged]] = True
    a = np.arange(n)
    return Blocks(a[~keep_apart], perm[~keep_apart], a[keep_apart], perm[keep_apart])


def budget_blocks(matching: Matching, width_ratio: float | Sequence[float]) -> list[Blocks]:
    """Blocks of every hidden layer for a merged width of ``width_ratio * n`` (in [1, 2]; one
    ratio for all layers or one per layer)."""
    ratios = np.broadcast_to(np.asarray(width_ratio, dtype=float), (len(matching.perms),))
    if np.any(ratios < 1) or np.any(ratios > 2):
        raise ValueError(f"width_ratio must lie in [1, 2]; got {width_ratio}")
    return [
        partial_blocks(p, matching.matched_similarity(layer), int(round((r - 1) * len(p))))
        for layer, (p, r) in enumerate(zip(matching.perms, ratios, strict=True))
    ]


def layer_least_squares(
    inputs: Sequence[torch.Tensor], targets: Sequence[torch.Tensor], ridge: float = 0.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Weights ``W`` (``out x in``) and bias of the merged layer from the input blocks
    ``(H_m, H_a, H_b)`` and target blocks ``(Z_m, Z_a, Z_b)`` (rows = examples): merged outputs
    regress on all inputs, A-only outputs on ``[H_m, H_a]``, B-only outputs on ``[H_m, H_b]``, each
    with an intercept; ``ridge`` penalises the weights (not the bias)."""
    h_m, h_a, h_b = (x.double().cpu() for x in inputs)
    z_m, z_a, z_b = (z.double().cpu() for z in targets)
    n = h_m.shape[0]
    sizes = (h_m.shape[1], h_a.shape[1], h_b.shape[1])
    out_rows = []
    for z, allowed in (
        (z_m, (True, True, True)),
        (z_a, (True, True, False)),
        (z_b, (True, False, True)),
    ):
        w = torch.zeros(z.shape[1], sum(sizes) + 1, dtype=torch.float64)
        if z.shape[1]:
            cols = [h for h, ok in zip((h_m, h_a, h_b), allowed, strict=True) if ok]
            design = torch.cat([*cols, torch.ones(n, 1, dtype=torch.float64)], dim=1)
            rhs = z
            if ridge > 0:
                penalty = torch.eye(design.shape[1], dtype=torch.float64)[:-1] * ridge**0.5
                design = torch.cat([design, penalty])
                rhs = torch.cat([z, torch.zeros(penalty.shape[0], z.shape[1], dtype=torch.float64)])
            coef = torch.linalg.lstsq(design, rhs, driver="gelsd").solution.T
            mask = np.concatenate([np.full(s, ok) for s, ok in zip(sizes, allowed, strict=True)])
            w[:, np.flatnonzero(np.r_[mask, True])] = coef
        out_rows.append(w)
    full = torch.cat(out_rows)
    return full[:, :-1].float(), full[:, -1].float()


def _split(
    h: torch.Tensor, idx_m: np.ndarray, idx_only: np.ndarray
) -> tuple[torch.Tensor, torch.Tensor]:
    return h[:, torch.as_tensor(idx_m, dtype=torch.long)], h[
        :, torch.as_tensor(idx_only, dtype=torch.long)
    ]


def pleas_merge(
    state_a: Mapping[str, torch.Tensor],
    state_b: Mapping[str, torch.Tensor],
    X: np.ndarray | torch.Tensor,
    matching: Matching,
    width_ratio: float | Sequence[float] = 1.0,
    heads: str = "shared",
    ridge: float = 0.0,
    sequential: bool = False,
) -> StateDict:
    """The PLeaS-merged MLP (module docstring) as a state dict with keys ``0.weight``,
    ``0.bias``, ``2.weight``, ... (load it with :func:`.params.mlp_from_state`). With
    ``heads="separate"`` the output is A's logits followed by B's."""
    if heads not in HEADS:
        raise ValueError(f"heads must be one of {', '.join(HEADS)}; got {heads!r}")
    io_a, io_b = layer_io(state_a, X), layer_io(state_b, X)
    hidden = budget_blocks(matching, width_ratio)
    n_layers = len(io_a)
    if len(hidden) != n_layers - 1:
        raise ValueError("the matching does not fit these models")
    merged: StateDict = {}
    own_input = None
    for layer in range(n_layers):
        (h_a, z_a), (h_b, z_b) = io_a[layer], io_b[layer]
        h_a, h_b, z_a, z_b = (t.cpu() for t in (h_a, h_b, z_a, z_b))
        in_blocks = Blocks.all_merged(h_a.shape[1]) if layer == 0 else hidden[layer - 1]
        if layer < n_layers - 1:
            out_blocks = hidden[layer]
        elif heads == "shared":
            out_blocks = Blocks.all_merged(z_a.shape[1])
        else:
            out_blocks = Blocks.all_separate(z_a.shape[1], z_b.shape[1])
        hm_a, ha = _split(h_a, in_blocks.merged_a, in_blocks.only_a)
        hm_b, hb = _split(h_b, in_blocks.merged_b, in_blocks.only_b)
        inputs = [(hm_a + hm_b) / 2, ha, hb]
        if sequential and own_input is not None:
            inputs = list(
                torch.split(own_input, [len(in_blocks.merged_a), ha.shape[1], hb.shape[1]], dim=1)
            )
        zm_a, za = _split(z_a, out_blocks.merged_a, out_blocks.only_a)
        zm_b, zb = _split(z_b, out_blocks.merged_b, out_blocks.only_b)
        W, b = layer_least_squares(inputs, [(zm_a + zm_b) / 2, za, zb], ridge)
        merged[f"{2 * layer}.weight"], merged[f"{2 * layer}.bias"] = W, b
        own_input = torch.relu(torch.cat(inputs, dim=1).float() @ W.T + b)
    device = state_a[f"{linear_layer_names(state_a)[0]}.weight"].device
    return {k: v.to(device) for k, v in merged.items()}


def permuted_average(
    state_a: Mapping[str, torch.Tensor],
    state_b: Mapping[str, torch.Tensor],
    perms: Sequence[np.ndarray],
    heads: str = "shared",
) -> StateDict:
    """Align B to A with ``perms`` and average the weights (Git Re-Basin's merge). With
    ``heads="separate"`` the hidden layers are averaged and the two output layers stacked (A's
    logits, then B's), both reading the averaged features."""
    if heads not in HEADS:
        raise ValueError(f"heads must be one of {', '.join(HEADS)}; got {heads!r}")
    aligned = permute_mlp(state_b, perms)
    names = linear_layer_names(state_a)
    out = {k: (state_a[k] + aligned[k]) / 2 for k in state_a}
    if heads == "separate":
        for part in ("weight", "bias"):
            key = f"{names[-1]}.{part}"
            out[key] = torch.cat([state_a[key], aligned[key]])
    return out
