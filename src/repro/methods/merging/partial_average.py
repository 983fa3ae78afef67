"""Partial permute-and-average: the PLeaS paper's "Perm" baseline at a merged width above n.

Nasery, Hayase, Koh & Oh, "PLeaS: Merging Models with Permutations and Least Squares", CVPR
2025 (arXiv:2407.02447), Section 3.1 and the baselines of Section 4; official code
``SewoongLab/PLeaS-Merging``, ``pleas/methods/partial_matching.py`` (``build_partial_merge_model``).

:func:`repro.methods.merging.permuted_average` merges every matched pair (width ``n``). To
compare with PLeaS *at the same merged width* the baseline must also keep the least similar
pairs apart. With the blocks of :func:`repro.methods.merging.budget_blocks` (units ordered
``[merged | A-only | B-only]``, merged pairs ``(m_A, m_B)``, kept units ``a`` of A and ``b`` of
B), each Linear layer of the merged model is built from the original weights without any data:

* merged -> merged: ``(W^A[m_A, m_A'] + W^B[m_B, m_B']) / 2`` (Git Re-Basin averaging);
* A-only -> A-only: ``W^A[a, a']``; B-only -> B-only: ``W^B[b, b']`` (each model's own units);
* merged -> A-only: ``W^A[a, m_A']``; merged -> B-only: ``W^B[b, m_B']`` (the merged unit stands
  in for the missing input);
* A-only -> merged: ``W^A[m_A, a'] / 2``; B-only -> merged: ``W^B[m_B, b'] / 2`` (the merged
  unit's pre-activation is the mean of the two models' pre-activations);
* A-only <-> B-only: 0;

and the biases are ``[(b^A_m + b^B_m) / 2, b^A_a, b^B_b]`` (primes mark the input blocks). The
input layer's inputs count as all merged. At width ``n`` (nothing kept apart) this is
``permuted_average``; at width ``2n`` (nothing merged) it is the ensemble: the mean of the two
models' logits for a shared head, both models' logits side by side for separate heads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch

from repro.methods.merging.params import StateDict, linear_layer_names
from repro.methods.merging.pleas import HEADS, Blocks


def _take(w: torch.Tensor, rows: np.ndarray, cols: np.ndarray) -> torch.Tensor:
    r = torch.as_tensor(rows, dtype=torch.long, device=w.device)
    c = torch.as_tensor(cols, dtype=torch.long, device=w.device)
    return w.index_select(0, r).index_select(1, c)


def _pick(v: torch.Tensor, idx: np.ndarray) -> torch.Tensor:
    return v[torch.as_tensor(idx, dtype=torch.long, device=v.device)]


def partial_permuted_average(
    state_a: Mapping[str, torch.Tensor],
    state_b: Mapping[str, torch.Tensor],
    blocks: Sequence[Blocks],
    heads: str = "shared",
) -> StateDict:
    """The partially merged MLP of the module docstring, one :class:`Blocks` per hidden layer
    (from :func:`repro.methods.merging.budget_blocks`); keys ``0.weight``, ``0.bias``, ``2.weight``,
    ... as in :func:`repro.methods.merging.pleas_merge`. With ``heads="separate"`` the output is
    A's logits followed by B's."""
    if heads not in HEADS:
        raise ValueError(f"heads must be one of {', '.join(HEADS)}; got {heads!r}")
    names_a, names_b = linear_layer_names(state_a), linear_layer_names(state_b)
    if len(names_a) != len(names_b) or len(blocks) != len(names_a) - 1:
        raise ValueError(f"need {len(names_a) - 1} Blocks (one per hidden layer) for these models")
    merged: StateDict = {}
    for layer, (na, nb) in enumerate(zip(names_a, names_b, strict=True)):
        wa, wb = state_a[f"{na}.weight"], state_b[f"{nb}.weight"]
        ba, bb = state_a[f"{na}.bias"], state_b[f"{nb}.bias"]
        ins = Blocks.all_merged(wa.shape[1]) if layer == 0 else blocks[layer - 1]
        if layer < len(names_a) - 1:
            outs = blocks[layer]
        elif heads == "shared":
            outs = Blocks.all_merged(wa.shape[0])
        else:
            outs = Blocks.all_separate(wa.shape[0], wb.shape[0])
        rows = []
        # merged outputs: mean of the two pre-activations
        rows.append(
            torch.cat(
                [
                    (
                        _take(wa, outs.merged_a, ins.merged_a)
                        + _take(wb, outs.merged_b, ins.merged_b)
                    )
                    / 2,
                    _take(wa, outs.merged_a, ins.only_a) / 2,
                    _take(wb, outs.merged_b, ins.only_b) / 2,
                ],
                dim=1,
            )
        )
        # A-only outputs read merged and A-only inputs; B-only outputs merged and B-only inputs
        rows.append(
            torch.cat(
                [
                    _take(wa, outs.only_a, ins.merged_a),
                    _take(wa, outs.only_a, ins.only_a),
                    torch.zeros(
                        len(outs.only_a), len(ins.only_b), dtype=wa.dtype, device=wa.device
                    ),
                ],
                dim=1,
            )
        )
        rows.append(
            torch.cat(
                [
                    _take(wb, outs.only_b, ins.merged_b),
                    torch.zeros(
                        len(outs.only_b), len(ins.only_a), dtype=wb.dtype, device=wb.device
                    ),
                    _take(wb, outs.only_b, ins.only_b),
                ],
                dim=1,
            )
        )
        bias = torch.cat(
            [
                (_pick(ba, outs.merged_a) + _pick(bb, outs.merged_b)) / 2,
                _pick(ba, outs.only_a),
                _pick(bb, outs.only_b),
            ]
        )
        merged[f"{2 * layer}.weight"], merged[f"{2 * layer}.bias"] = torch.cat(rows), bias
    return merged
