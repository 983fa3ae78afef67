"""Unit tests for repro.methods.merging.partial_average: the partial permute-and-average baseline
of PLeaS (Nasery et al. 2025) against its end points (Git Re-Basin averaging at width n, the
ensemble at width 2n) and on a permuted copy, where any width must keep the function."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.methods.merging import (
    Blocks,
    Matching,
    activation_matching,
    budget_blocks,
    identity_perms,
    mlp_from_state,
    permute_mlp,
    permuted_average,
    state_of,
)
from repro.methods.merging.partial_average import partial_permuted_average
from repro.models import MLP

WIDTHS = (10, [16, 12], 4)


def model_state(seed: int) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return state_of(MLP(*WIDTHS))


def logits(state, X: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return mlp_from_state(state)(torch.as_tensor(X, dtype=torch.float32))


@pytest.fixture
def pair():
    rng = np.random.default_rng(0)
    a, b = model_state(1), model_state(2)
    X = rng.normal(size=(200, WIDTHS[0]))
    return a, b, X, activation_matching(a, b, X)


@pytest.mark.parametrize("heads", ["shared", "separate"])
def test_width_one_is_the_permuted_average(pair, heads) -> None:
    a, b, _, matching = pair
    merged = partial_permuted_average(a, b, budget_blocks(matching, 1.0), heads=heads)
    expected = permuted_average(a, b, matching.perms, heads=heads)
    assert merged.keys() == expected.keys()
    for key in merged:
        torch.testing.assert_close(merged[key], expected[key])


def test_width_two_is_the_ensemble(pair) -> None:
    a, b, X, matching = pair
    blocks = budget_blocks(matching, 2.0)
    assert [blk.width for blk in blocks] == [32, 24]
    shared = logits(partial_permuted_average(a, b, blocks), X)
    torch.testing.assert_close(shared, (logits(a, X) + logits(b, X)) / 2, atol=1e-5, rtol=1e-5)
    separate = logits(partial_permuted_average(a, b, blocks, heads="separate"), X)
    torch.testing.assert_close(
        separate, torch.cat([logits(a, X), logits(b, X)], dim=1), atol=1e-5, rtol=1e-5
    )


@pytest.mark.parametrize("ratio", [1.0, 1.25, 1.5, 2.0])
def test_a_permuted_copy_keeps_its_function_at_every_width(ratio) -> None:
    rng = np.random.default_rng(3)
    a = model_state(4)
    perms = [rng.permutation(len(p)) for p in identity_perms(a)]
    b = permute_mlp(a, [np.argsort(p) for p in perms])  # B's unit perms[l][i] is A's unit i
    X = rng.normal(size=(100, WIDTHS[0]))
    similarity = [rng.random((len(p), len(p))) for p in perms]
    merged = partial_permuted_average(a, b, budget_blocks(Matching(perms, similarity), ratio))
    torch.testing.assert_close(logits(merged, X), logits(a, X), atol=1e-5, rtol=1e-5)
    # with the wrong (identity) pairing the merge at width n changes the function
    if ratio == 1.0:
        wrong = partial_permuted_average(a, b, [Blocks.all_merged(len(p)) for p in perms])
        assert (logits(wrong, X) - logits(a, X)).abs().max() > 1e-2


def test_partial_blocks_by_hand() -> None:
    """One hidden layer of 2 units, unit 0 merged, unit 1 kept apart in both models."""
    a = {
        "0.weight": torch.tensor([[1.0], [2.0]]),
        "0.bias": torch.tensor([0.0, 1.0]),
        "2.weight": torch.tensor([[1.0, 3.0]]),
        "2.bias": torch.tensor([1.0]),
    }
    b = {
        "0.weight": torch.tensor([[3.0], [4.0]]),
        "0.bias": torch.tensor([2.0, 3.0]),
        "2.weight": torch.tensor([[5.0, 7.0]]),
        "2.bias": torch.tensor([3.0]),
    }
    blocks = [Blocks(np.array([0]), np.array([0]), np.array([1]), np.array([1]))]
    m = partial_permuted_average(a, b, blocks)
    torch.testing.assert_close(m["0.weight"], torch.tensor([[2.0], [2.0], [4.0]]))
    torch.testing.assert_close(m["0.bias"], torch.tensor([1.0, 1.0, 3.0]))
    torch.testing.assert_close(m["2.weight"], torch.tensor([[3.0, 1.5, 3.5]]))
    torch.testing.assert_close(m["2.bias"], torch.tensor([2.0]))


def test_bad_arguments(pair) -> None:
    a, b, _, matching = pair
    with pytest.raises(ValueError, match="heads"):
        partial_permuted_average(a, b, budget_blocks(matching, 1.0), heads="joint")
    with pytest.raises(ValueError, match="Blocks"):
        partial_permuted_average(a, b, budget_blocks(matching, 1.0)[:1])
