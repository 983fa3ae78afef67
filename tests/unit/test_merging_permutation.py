"""Unit tests for repro.methods.merging's permutation alignment (Ainsworth et al. 2023) and
PLeaS (Nasery et al. 2025): function-preserving permutations, recovery of a known permutation,
and the layer-wise least squares against a closed-form solve."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.methods.merging import (
    Matching,
    activation_matching,
    budget_blocks,
    identity_matching,
    identity_perms,
    layer_io,
    layer_least_squares,
    mlp_from_state,
    mlp_widths,
    partial_blocks,
    permute_mlp,
    permuted_average,
    pleas_merge,
    state_of,
    weight_matching,
)
from repro.models import MLP

WIDTHS = (10, [16, 12], 4)


def model_state(seed: int, widths=WIDTHS) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return state_of(MLP(*widths))


def random_perms(state, rng: np.random.Generator) -> list[np.ndarray]:
    return [rng.permutation(len(p)) for p in identity_perms(state)]


def logits(state, X: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return mlp_from_state(state)(torch.as_tensor(X, dtype=torch.float32))


def inverse(p: np.ndarray) -> np.ndarray:
    out = np.empty_like(p)
    out[p] = np.arange(len(p))
    return out


def test_permuting_hidden_units_leaves_the_outputs_unchanged() -> None:
    rng = np.random.default_rng(0)
    state = model_state(0)
    X = rng.normal(size=(50, WIDTHS[0]))
    perms = random_perms(state, rng)
    permuted = permute_mlp(state, perms)
    torch.testing.assert_close(logits(permuted, X), logits(state, X), atol=1e-5, rtol=1e-5)
    assert not torch.equal(permuted["0.weight"], state["0.weight"])  # the weights did move
    # undoing the permutation restores the weights exactly
    restored = permute_mlp(permuted, [inverse(p) for p in perms])
    for k in state:
        assert torch.equal(restored[k], state[k])
    with pytest.raises(ValueError):
        permute_mlp(state, [np.zeros(16, dtype=int), np.arange(12)])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_weight_matching_recovers_a_known_permutation_exactly(seed: int) -> None:
    rng = np.random.default_rng(seed)
    state_a = model_state(seed, (20, [32, 32, 24], 6))
    perms = random_perms(state_a, rng)
    state_b = permute_mlp(state_a, perms)  # B is A with its units shuffled
    found = weight_matching(state_a, state_b, np.random.default_rng(100 + seed))
    for p_true, p_found in zip(perms, found.perms, strict=True):
        np.testing.assert_array_equal(p_found, inverse(p_true))
    aligned = permute_mlp(state_b, found.perms)
    for k in state_a:
        assert torch.equal(aligned[k], state_a[k])


def test_weight_matching_reduces_the_distance_between_independent_models() -> None:
    a, b = model_state(0), model_state(1)
    found = weight_matching(a, b, np.random.default_rng(0))
    aligned = permute_mlp(b, found.perms)

    def dist(x, y):
        return sum(((x[k] - y[k]) ** 2).sum().item() for k in x)

    assert dist(a, aligned) < dist(a, b)


def test_activation_matching_recovers_a_known_permutation() -> None:
    rng = np.random.default_rng(3)
    state_a = model_state(3)
    perms = random_perms(state_a, rng)
    state_b = permute_mlp(state_a, perms)
    X = rng.normal(size=(200, WIDTHS[0]))
    found = activation_matching(state_a, state_b, X)
    for p_true, p_found in zip(perms, found.perms, strict=True):
        np.testing.assert_array_equal(p_found, inverse(p_true))
    np.testing.assert_allclose(found.matched_similarity(0), 1.0, atol=1e-9)


# ---------------------------------------------------------------------------------- PLeaS


def test_partial_blocks_leave_the_least_similar_pairs_unmerged() -> None:
    perm = np.array([2, 0, 3, 1])
    sim = np.array([0.9, 0.1, 0.5, 0.3])  # pairs (0,2) (1,0) (2,3) (3,1)
    blocks = partial_blocks(perm, sim, 2)
    np.testing.assert_array_equal(blocks.merged_a, [0, 2])
    np.testing.assert_array_equal(blocks.merged_b, [2, 3])
    np.testing.assert_array_equal(blocks.only_a, [1, 3])
    np.testing.assert_array_equal(blocks.only_b, [0, 1])
    assert blocks.width == 6
    matching = Matching([perm, perm], [np.eye(4)[:, perm].T, np.eye(4)[:, perm].T])
    assert [b.width for b in budget_blocks(matching, [1.0, 1.5])] == [4, 6]
    with pytest.raises(ValueError):
        budget_blocks(matching, 2.5)


@pytest.mark.parametrize("ridge", [0.0, 0.3])
def test_layer_least_squares_matches_the_closed_form(ridge: float) -> None:
    rng = np.random.default_rng(0)
    n = 40
    h_m, h_a, h_b = (rng.normal(size=(n, d)) for d in (3, 2, 2))
    z_m, z_a, z_b = (rng.normal(size=(n, d)) for d in (2, 3, 1))
    W, b = layer_least_squares(
        [torch.tensor(h) for h in (h_m, h_a, h_b)],
        [torch.tensor(z) for z in (z_m, z_a, z_b)],
        ridge,
    )
    assert W.shape == (6, 7) and b.shape == (6,)

    def normal_equations(cols, z):
        design = np.hstack([*cols, np.ones((n, 1))])
        penalty = ridge * np.diag(np.r_[np.ones(design.shape[1] - 1), 0.0])
        return np.linalg.solve(design.T @ design + penalty, design.T @ z).T

    merged = normal_equations([h_m, h_a, h_b], z_m)  # merged outputs read every input
    only_a = normal_equations([h_m, h_a], z_a)  # A-only outputs never read B-only inputs
    only_b = normal_equations([h_m, h_b], z_b)
    expected_W = np.zeros((6, 7))
    expected_W[:2] = merged[:, :-1]
    expected_W[2:5, :5] = only_a[:, :-1]
    expected_W[5:, :3], expected_W[5:, 5:] = only_b[:, :3], only_b[:, 3:-1]
    expected_b = np.r_[merged[:, -1], only_a[:, -1], only_b[:, -1]]
    np.testing.assert_allclose(W.numpy(), expected_W, atol=1e-5)
    np.testing.assert_allclose(b.numpy(), expected_b, atol=1e-5)
    assert np.all(W.numpy()[2:5, 5:] == 0) and np.all(W.numpy()[5:, 3:5] == 0)


def test_pleas_at_full_width_reproduces_both_models() -> None:
    rng = np.random.default_rng(1)
    a, b = model_state(4, (10, [8, 8], 3)), model_state(5, (10, [8, 8], 5))
    X = rng.normal(size=(120, 10))
    matching = activation_matching(a, b, X)
    # nothing merged, separate heads: the merged model is the two models side by side
    merged = pleas_merge(a, b, X, matching, width_ratio=2.0, heads="separate")
    assert mlp_widths(merged) == (10, [16, 16], 8)
    # exact on the fitting data (elsewhere a unit that never fired on X may differ)
    out = logits(merged, X)
    torch.testing.assert_close(out[:, :3], logits(a, X), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(out[:, 3:], logits(b, X), atol=1e-4, rtol=1e-4)


def test_pleas_shared_head_full_width_gives_the_mean_logits_and_fully_merged_is_narrow() -> None:
    rng = np.random.default_rng(2)
    a, b = model_state(6, (10, [8], 3)), model_state(7, (10, [8], 3))
    X = rng.normal(size=(100, 10))
    matching = activation_matching(a, b, X)
    wide = pleas_merge(a, b, X, matching, width_ratio=2.0)
    X_new = rng.normal(size=(20, 10))
    torch.testing.assert_close(
        logits(wide, X_new), (logits(a, X_new) + logits(b, X_new)) / 2, atol=1e-4, rtol=1e-4
    )
    narrow = pleas_merge(a, b, X, matching, width_ratio=1.0)
    assert mlp_widths(narrow) == (10, [8], 3)
    # the first layer of a fully merged model fits the mean of the matched pre-activations
    (_, z_a), (_, z_b) = layer_io(a, X)[0], layer_io(b, X)[0]
    target = (z_a + z_b[:, torch.as_tensor(matching.perms[0])]) / 2
    fitted = layer_io(narrow, X)[0][1]
    torch.testing.assert_close(fitted, target, atol=1e-4, rtol=1e-4)  # first layer: exact (n > d)
    seq = pleas_merge(a, b, X, matching, width_ratio=1.0, sequential=True)
    torch.testing.assert_close(seq["0.weight"], narrow["0.weight"])  # same first layer


def test_permuted_average_shapes_and_identity_case() -> None:
    a = model_state(8)
    perms = random_perms(a, np.random.default_rng(0))
    b = permute_mlp(a, perms)
    merged = permuted_average(a, b, [inverse(p) for p in perms])
    for k in a:
        torch.testing.assert_close(merged[k], a[k])
    sep = permuted_average(a, model_state(9), identity_perms(a), heads="separate")
    assert mlp_widths(sep) == (10, [16, 12], 8)


def test_identity_matching_gives_least_squares_without_permutation() -> None:
    rng = np.random.default_rng(5)
    a, b = model_state(10, (10, [8], 3)), model_state(11, (10, [8], 3))
    X = rng.normal(size=(100, 10))
    merged = pleas_merge(a, b, X, identity_matching(a), width_ratio=1.0)
    (_, z_a), (_, z_b) = layer_io(a, X)[0], layer_io(b, X)[0]
    torch.testing.assert_close(layer_io(merged, X)[0][1], (z_a + z_b) / 2, atol=1e-4, rtol=1e-4)
    assert np.all(identity_matching(a).matched_similarity(0) == 0)
