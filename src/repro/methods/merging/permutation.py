"""Permutation symmetry of MLP hidden units: applying a permutation, weight matching and
activation matching.

For an MLP ``z_l = W_l h_{l-1} + b_l``, ``h_l = relu(z_l)``, reordering the units of hidden
layer ``l`` by a permutation ``p`` (``W_l <- W_l[p]``, ``b_l <- b_l[p]``,
``W_{l+1} <- W_{l+1}[:, p]``) leaves the function unchanged. Model B is aligned to model A by
choosing one permutation per hidden layer (Ainsworth, Hayase & Srinivasa, "Git Re-Basin:
Merging Models modulo Permutation Symmetries", ICLR 2023, Section 3):

* **weight matching** maximises ``sum_l <W_l^A, P_l W_l^B P_{l-1}^T>_F + <b_l^A, P_l b_l^B>``,
  i.e. minimises ``||theta_A - pi(theta_B)||^2``, by coordinate descent: visit the hidden layers
  in random order and solve, for layer ``l`` with the others fixed, the linear assignment
  problem with similarity ``S = W_l^A P_{l-1} (W_l^B)^T + b_l^A (b_l^B)^T +
  (W_{l+1}^A)^T P_{l+1} W_{l+1}^B`` (``scipy.optimize.linear_sum_assignment``), until a sweep
  improves no layer (Ainsworth et al., Algorithm 1; analysed by Ito, Yamada & Kumagai, "Analysis
  of Linear Mode Connectivity via Permutation-Based Weight Matching", 2024);
* **activation matching** pairs the units whose activations on a data batch correlate most,
  one assignment problem per layer (Ainsworth et al., Section 3; PLeaS, Nasery et al. 2025,
  uses the same matching, and its inner-product similarity is ``similarity="inner"``).

Permutations are index arrays: ``perms[l][i]`` is the unit of B matched to unit ``i`` of A, so
``permute_mlp(state_b, perms)`` puts B's units into A's order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment

from repro.methods.merging.params import StateDict, linear_layer_names


@dataclass
class Matching:
    """One permutation per hidden layer, with the unit similarities it was chosen from:
    ``similarity[l][i, j]`` compares unit ``i`` of A with unit ``j`` of (unpermuted) B."""

    perms: list[np.ndarray]
    similarity: list[np.ndarray]

    def matched_similarity(self, layer: int) -> np.ndarray:
        """Similarity of each matched pair ``(i, perms[layer][i])``, in A's unit order."""
        p = self.perms[layer]
        return self.similarity[layer][np.arange(len(p)), p]


def _weights(
    state: Mapping[str, torch.Tensor],
) -> tuple[list[str], list[np.ndarray], list[np.ndarray]]:
    names = linear_layer_names(state)
    W = [state[f"{n}.weight"].detach().cpu().double().numpy() for n in names]
    b = [state[f"{n}.bias"].detach().cpu().double().numpy() for n in names]
    return names, W, b


def identity_perms(state: Mapping[str, torch.Tensor]) -> list[np.ndarray]:
    """The identity permutation of every hidden layer."""
    _, W, _ = _weights(state)
    return [np.arange(w.shape[0]) for w in W[:-1]]


def identity_matching(state: Mapping[str, torch.Tensor]) -> Matching:
    """The identity matching (every unit with the same-index unit, all similarities 0): merging
    without permutation, e.g. least squares alone at width 1 (a RegMean-style baseline)."""
    perms = identity_perms(state)
    return Matching(perms, [np.zeros((len(p), len(p))) for p in perms])


def permute_mlp(state: Mapping[str, torch.Tensor], perms: Sequence[np.ndarray]) -> StateDict:
    """Reorder the hidden units of an MLP state dict: new unit ``i`` of layer ``l`` is old unit
    ``perms[l][i]``. The network's function is unchanged."""
    names = linear_layer_names(state)
    if len(perms) != len(names) - 1:
        raise ValueError(
            f"need {len(names) - 1} permutations (one per hidden layer), got {len(perms)}"
        )
    out = {k: v.clone() for k, v in state.items()}
    for layer, p in enumerate(perms):
        idx = torch.as_tensor(
            np.asarray(p), dtype=torch.long, device=state[f"{names[layer]}.weight"].device
        )
        if sorted(np.asarray(p).tolist()) != list(range(out[f"{names[layer]}.weight"].shape[0])):
            raise ValueError(f"perms[{layer}] is not a permutation of the layer's units")
        out[f"{names[layer]}.weight"] = out[f"{names[layer]}.weight"][idx]
        out[f"{names[layer]}.bias"] = out[f"{names[layer]}.bias"][idx]
        out[f"{names[layer + 1]}.weight"] = out[f"{names[layer + 1]}.weight"][:, idx]
    return out


def _layer_similarity(
    layer: int, W_a: list, b_a: list, W_b: list, b_b: list, perms: list[np.ndarray]
) -> np.ndarray:
    """Weight-matching similarity of A's and B's units of hidden layer ``layer`` (others fixed)."""
    w_b_in = W_b[layer] if layer == 0 else W_b[layer][:, perms[layer - 1]]
    S = W_a[layer] @ w_b_in.T + np.outer(b_a[layer], b_b[layer])
    w_b_out = W_b[layer + 1] if layer + 1 == len(perms) else W_b[layer + 1][perms[layer + 1]]
    return S + W_a[layer + 1].T @ w_b_out


def weight_matching(
    state_a: Mapping[str, torch.Tensor],
    state_b: Mapping[str, torch.Tensor],
    rng: np.random.Generator,
    max_sweeps: int = 100,
) -> Matching:
    """Permutations of B's hidden units that maximise the weight inner product with A
    (coordinate descent over layers in random order, module docstring)."""
    _, W_a, b_a = _weights(state_a)
    _, W_b, b_b = _weights(state_b)
    if [w.shape for w in W_a] != [w.shape for w in W_b]:
        raise ValueError("weight matching needs two MLPs of the same widths")
    n_hidden = len(W_a) - 1
    perms = [np.arange(W_a[layer].shape[0]) for layer in range(n_hidden)]
    for _ in range(max_sweeps):
        improved = False
        for layer in rng.permutation(n_hidden):
            S = _layer_similarity(layer, W_a, b_a, W_b, b_b, perms)
            _, cols = linear_sum_assignment(S, maximize=True)
            rows = np.arange(len(cols))
            if S[rows, cols].sum() > S[rows, perms[layer]].sum() + 1e-9 * np.abs(S).sum():
                perms[layer] = cols
                improved = True
        if not improved:
            break
    similarity = [_layer_similarity(layer, W_a, b_a, W_b, b_b, perms) for layer in range(n_hidden)]
    return Matching(perms, similarity)


@torch.no_grad()
def layer_io(
    state: Mapping[str, torch.Tensor], X: np.ndarray | torch.Tensor
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``(input, pre-activation output)`` of every Linear layer of an MLP (ReLU between layers)
    on the rows of ``X``."""
    names = linear_layer_names(state)
    h = torch.as_tensor(X, dtype=torch.float32, device=state[f"{names[0]}.weight"].device)
    io = []
    for i, n in enumerate(names):
        z = h @ state[f"{n}.weight"].float().T + state[f"{n}.bias"].float()
        io.append((h, z))
        h = torch.relu(z) if i < len(names) - 1 else z
    return io


def hidden_activations(
    state: Mapping[str, torch.Tensor], X: np.ndarray | torch.Tensor
) -> list[torch.Tensor]:
    """Post-ReLU activations of every hidden layer (``n x width`` each)."""
    return [torch.relu(z) for _, z in layer_io(state, X)[:-1]]


def unit_similarity(
    acts_a: torch.Tensor, acts_b: torch.Tensor, kind: str = "correlation"
) -> np.ndarray:
    """``(width_A, width_B)`` similarity of units from activations on the same rows: Pearson
    correlation (a unit that never varies correlates 0 with every unit) or the inner product
    ``A^T B / n``."""
    a, b = acts_a.double(), acts_b.double()
    if kind == "correlation":
        a = a - a.mean(0)
        b = b - b.mean(0)
        a = a / a.norm(dim=0).clamp(min=1e-12)
        b = b / b.norm(dim=0).clamp(min=1e-12)
        return (a.T @ b).cpu().numpy()
    if kind == "inner":
        return (a.T @ b / a.shape[0]).cpu().numpy()
    raise ValueError(f"kind must be 'correlation' or 'inner'; got {kind!r}")


def activation_matching(
    state_a: Mapping[str, torch.Tensor],
    state_b: Mapping[str, torch.Tensor],
    X: np.ndarray | torch.Tensor,
    similarity: str = "correlation",
) -> Matching:
    """Per hidden layer, the assignment of B's units to A's that maximises the summed
    similarity of their activations on ``X`` (the models' own activations, each layer
    independently)."""
    sims = [
        unit_similarity(a, b, similarity)
        for a, b in zip(hidden_activations(state_a, X), hidden_activations(state_b, X), strict=True)
    ]
    return Matching([linear_sum_assignment(S, maximize=True)[1] for S in sims], sims)
