"""Unit tests for repro.methods.merging.compatibility (Schumann et al., EACL 2024): the
negative-flip rate, the official Fisher scaling and weighting, interpolation paths and the
validation choice of the interpolation weight, on hand-worked cases."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.methods.merging import bcwi, mlp_from_state, state_of
from repro.methods.merging import diagonal_fisher as mg_fisher
from repro.methods.merging.compatibility import (
    interpolation_path,
    negative_flip_rate,
    old_model_fisher,
    select_alpha,
    unit_mean,
)
from repro.models import MLP
from repro.training import predict_logits


def vec(values) -> dict[str, torch.Tensor]:
    return {"w": torch.tensor(values, dtype=torch.float64)}


def test_negative_flip_rate_counts_old_right_new_wrong_only() -> None:
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    old = np.array([0, 1, 2, 1, 1, 0, 0, 2])  # right on 0, 1, 2, 4, 6
    new = np.array([0, 2, 1, 0, 1, 0, 1, 1])  # wrong on 1, 2, 5, 6; right on 3 and 7
    # old right and new wrong: 1, 2, 6 -> 3 of 8 (5 is wrong for both, 3 and 7 are positive flips)
    assert negative_flip_rate(y, old, new) == pytest.approx(3 / 8)
    assert negative_flip_rate(y, old, old) == 0.0
    assert negative_flip_rate(y, new, old) == pytest.approx(2 / 8)  # the reverse update
    with pytest.raises(ValueError):
        negative_flip_rate(y, old, new[:-1])
    with pytest.raises(ValueError):
        negative_flip_rate(np.array([]), np.array([]), np.array([]))


def test_unit_mean_scales_every_parameter_by_one_constant() -> None:
    fisher = {"a": torch.tensor([1.0, 3.0]), "b": torch.tensor([[0.0, 4.0]])}  # mean 2
    scaled = unit_mean(fisher)
    torch.testing.assert_close(scaled["a"], torch.tensor([0.5, 1.5]))
    torch.testing.assert_close(scaled["b"], torch.tensor([[0.0, 2.0]]))
    assert torch.cat([v.flatten() for v in scaled.values()]).mean() == pytest.approx(1.0)
    with pytest.raises(ValueError):
        unit_mean({"a": torch.zeros(3)})


def test_old_model_fisher_is_the_official_scaled_fisher_at_predicted_labels() -> None:
    # the official get_diag_fisher(full=False, scale=True): one example at a time, the squared
    # gradient of log p(argmax | x), summed, then divided by its mean over all entries
    torch.manual_seed(1)
    model = MLP(4, [6], 3)
    X = np.random.default_rng(1).normal(size=(40, 4)).astype(np.float32)
    total = {k: torch.zeros_like(p) for k, p in model.named_parameters()}
    for x in torch.as_tensor(X):
        model.zero_grad()
        logp = torch.log_softmax(model(x[None]), -1)[0]
        logp[logp.argmax()].backward()
        for k, p in model.named_parameters():
            total[k] += p.grad**2
    mean = torch.cat([v.flatten() for v in total.values()]).mean()
    fisher = old_model_fisher(model, X, batch_size=7)
    assert set(fisher) == set(total)
    for k in total:
        torch.testing.assert_close(fisher[k], total[k] / mean, rtol=1e-4, atol=1e-6)
    # the labels matter: at other labels the Fisher differs
    wrong = (predict_logits(model, X).argmax(1) + 1) % 3
    other = unit_mean(mg_fisher(model, X, wrong))
    assert not torch.allclose(other["0.weight"], fisher["0.weight"], rtol=1e-2)


def test_fisher_weighted_bcwi_weights_only_the_old_model() -> None:
    old, new = vec([0.0, 0.0, 1.0]), vec([2.0, 4.0, 3.0])
    f_old = vec([3.0, 1.0, 0.0])
    # alpha 0.5: entry 0 (0.5*3*0 + 0.5*2) / (0.5*3 + 0.5) = 0.5; entry 1 plain mean 2;
    # entry 2 has no old Fisher, so the new weight 3 (official code, alpha < 1)
    merged = bcwi(old, [new], 0.5, fisher_old=f_old, eps=0.0)
    torch.testing.assert_close(merged["w"], torch.tensor([0.5, 2.0, 3.0], dtype=torch.float64))
    # alpha 0.8 on entry 0: (0.8*3*0 + 0.2*2) / (2.4 + 0.2) = 0.4 / 2.6
    assert bcwi(old, [new], 0.8, fisher_old=f_old, eps=0.0)["w"][0].item() == pytest.approx(
        0.4 / 2.6
    )
    torch.testing.assert_close(bcwi(old, [new], 0.0, fisher_old=f_old)["w"], new["w"])
    torch.testing.assert_close(bcwi(old, [new], 1.0, fisher_old=f_old, eps=1e-8)["w"], old["w"])
    # not the form with a Fisher on the new side too: with F_new = F_old, entry 0 at alpha 0.5
    # would be (1.5*0 + 1.5*2) / 3 = 1.0, and entry 2 (both Fishers zero) the plain mean 2.0
    two_sided = bcwi(old, [new], 0.5, fisher_old=f_old, fishers_new=[f_old], eps=1e-12)["w"]
    torch.testing.assert_close(two_sided, torch.tensor([1.0, 2.0, 2.0], dtype=torch.float64))
    assert not torch.allclose(two_sided, merged["w"])
    # a Fisher of ones is plain BCWI, and a soup of new models is averaged first
    other = vec([0.0, 0.0, 1.0])
    torch.testing.assert_close(
        bcwi(old, [new, other], 0.3, fisher_old=vec([1.0, 1.0, 1.0]))["w"],
        bcwi(old, [new, other], 0.3)["w"],
    )


def test_interpolation_path_end_points() -> None:
    torch.manual_seed(0)
    old, new = state_of(MLP(4, [8], 3)), state_of(MLP(4, [8], 3))
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    y = rng.integers(3, size=200)
    pred_old = predict_logits(mlp_from_state(old), X).argmax(1)
    pred_new = predict_logits(mlp_from_state(new), X).argmax(1)
    acc, nfr = interpolation_path(lambda a: bcwi(old, [new], a), [0.0, 0.5, 1.0], X, y, pred_old)
    assert acc[0] == pytest.approx(np.mean(pred_new == y))
    assert nfr[0] == pytest.approx(negative_flip_rate(y, pred_old, pred_new))
    assert acc[2] == pytest.approx(np.mean(pred_old == y))
    assert nfr[2] == 0.0  # the old model never flips against itself
    assert nfr[0] > 0  # two random models do disagree on some examples the old one gets right


def test_select_alpha_lowest_nfr_within_tolerance() -> None:
    acc = [0.800, 0.801, 0.796, 0.790, 0.700]
    nfr = [0.050, 0.040, 0.030, 0.020, 0.000]
    assert select_alpha(acc, nfr, reference_accuracy=0.800) == 1
    assert select_alpha(acc, nfr, 0.800, tolerance=0.005) == 2
    assert select_alpha(acc, nfr, 0.800, tolerance=0.01) == 3
    assert select_alpha(acc, nfr, 0.800, tolerance=1.0) == 4
    # ties in NFR go to the more accurate weight, then to the earlier one
    assert select_alpha([0.80, 0.81, 0.81], [0.03, 0.03, 0.03], 0.80) == 1
    # nothing qualifies: the most accurate
    assert select_alpha([0.70, 0.75], [0.01, 0.02], 0.90) == 1
    with pytest.raises(ValueError):
        select_alpha([0.8], [0.1, 0.2], 0.8)
    with pytest.raises(ValueError):
        select_alpha([0.8], [0.1], 0.8, tolerance=-0.1)
