"""Permutations move singular vectors but not singular values; the alignment measures behave
as their definitions say."""

import numpy as np
import pytest
import torch

from repro.methods.merging.params import state_of
from repro.methods.merging.permutation import permute_mlp, weight_matching
from repro.methods.merging.spectral import (
    distance,
    rank_band_alignment,
    rankwise_alignment,
    relative_distance,
    singular_values,
)
from repro.models import MLP


def random_mlp(seed, widths=(6, [16, 12], 4)):
    torch.manual_seed(seed)
    return state_of(MLP(widths[0], widths[1], widths[2]))


def random_perms(state, rng):
    return [rng.permutation(state[f"{n}.weight"].shape[0]) for n in ("0", "2")]


def test_singular_values_are_invariant_under_permutation():
    state = random_mlp(0)
    permuted = permute_mlp(state, random_perms(state, np.random.default_rng(1)))
    for s, s_perm in zip(singular_values(state), singular_values(permuted), strict=True):
        np.testing.assert_allclose(s, s_perm, rtol=1e-6, atol=1e-7)
    assert distance(state, permuted) > 0.1  # yet the parameters moved


def test_alignment_of_a_layer_with_itself_and_with_a_permuted_copy():
    W = np.random.default_rng(2).normal(size=(12, 8))
    np.testing.assert_allclose(rankwise_alignment(W, W), 1.0)
    np.testing.assert_allclose(rankwise_alignment(W, -W), 1.0)  # signs are arbitrary
    P = np.eye(12)[np.random.default_rng(3).permutation(12)]
    assert rankwise_alignment(W, P @ W).mean() < 0.6
    with pytest.raises(ValueError):
        rankwise_alignment(W, W[:, :4])


def test_weight_matching_restores_alignment_of_a_permuted_model():
    state = random_mlp(4)
    permuted = permute_mlp(state, random_perms(state, np.random.default_rng(5)))
    matched = permute_mlp(
        permuted, weight_matching(state, permuted, np.random.default_rng(6)).perms
    )
    W_a = state["2.weight"].double().numpy()
    top, bottom = rank_band_alignment(W_a, matched["2.weight"].double().numpy(), 0.1, 0.5)
    assert top == pytest.approx(1.0) and bottom == pytest.approx(1.0)
    assert distance(state, matched) == pytest.approx(0.0, abs=1e-6)


def test_relative_distance_scale():
    a, b = random_mlp(7), random_mlp(8)
    assert relative_distance(a, a) == 0.0
    assert 0.8 < relative_distance(a, b) < 1.2  # independent inits of equal scale
