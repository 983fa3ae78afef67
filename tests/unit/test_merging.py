"""Unit tests for repro.methods.merging: state-dict arithmetic, Fisher-based merges (special
cases of the uncertainty-based merge, Daheim et al. 2024), TIES and PCB on hand-made task
vectors, and the digits views."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from repro.methods.merging import (
    average,
    bcwi,
    diagonal_fisher,
    digits_domains,
    digits_pools,
    fisher_average,
    flatten,
    interpolate,
    label_subset,
    loss_barrier,
    make_transform,
    mlp_from_state,
    pcb_merge,
    pcb_weights,
    state_of,
    task_arithmetic,
    task_vector,
    ties_merge,
    ties_vector,
    uncertainty_merge,
    unflatten,
)
from repro.models import MLP


def random_state(seed: int, widths=(5, 4, 3)) -> dict[str, torch.Tensor]:
    torch.manual_seed(seed)
    return state_of(MLP(widths[0], list(widths[1:-1]), widths[-1]))


def vec(values) -> dict[str, torch.Tensor]:
    """A one-parameter "model" holding a vector, for hand-worked merges."""
    return {"w": torch.tensor(values, dtype=torch.float64)}


def assert_states_close(a, b, atol=1e-6) -> None:
    assert list(a) == list(b)
    for k in a:
        torch.testing.assert_close(a[k].double(), b[k].double(), atol=atol, rtol=1e-6)


# ------------------------------------------------------------------------------ state dicts


def test_flatten_roundtrip_and_task_vectors() -> None:
    s0, s1 = random_state(0), random_state(1)
    assert_states_close(unflatten(flatten(s1), s1), s1, atol=0)
    tau = task_vector(s1, s0)
    torch.testing.assert_close(flatten(tau), flatten(s1) - flatten(s0))
    with pytest.raises(ValueError):
        unflatten(torch.zeros(3), s1)


def test_task_arithmetic_with_one_over_T_is_the_average() -> None:
    base = random_state(0)
    tuned = [random_state(s) for s in (1, 2, 3)]
    assert_states_close(task_arithmetic(base, tuned, 1 / 3), average(tuned))
    # scale 0 returns the base, per-task scales pick one model
    assert_states_close(task_arithmetic(base, tuned, 0.0), base)
    assert_states_close(task_arithmetic(base, tuned, [0.0, 1.0, 0.0]), tuned[1])


def test_interpolation_and_barrier() -> None:
    a, b = vec([0.0, 2.0]), vec([4.0, -2.0])
    assert_states_close(interpolate(a, b, 0.0), a)
    assert_states_close(interpolate(a, b, 1.0), b)
    assert_states_close(interpolate(a, b, 0.25), vec([1.0, 1.0]))
    # losses 1 and 3 at the ends; 2.5 at t = 0.5 lies 0.5 above the chord (2.0)
    assert loss_barrier([0, 0.5, 1], [1.0, 2.5, 3.0]) == pytest.approx(0.5)
    assert loss_barrier([0, 0.5, 1], [1.0, 1.5, 3.0]) == pytest.approx(0.0)


def test_mlp_from_state_rebuilds_the_function() -> None:
    torch.manual_seed(0)
    model = MLP(6, [5, 4], 3, dropout=0.1).eval()  # dropout shifts the layer indices
    x = torch.randn(7, 6)
    rebuilt = mlp_from_state(state_of(model))
    torch.testing.assert_close(rebuilt(x), model(x))


# ----------------------------------------------------------------------------------- Fisher


def test_diagonal_fisher_observed_labels_matches_a_per_example_loop() -> None:
    torch.manual_seed(0)
    model = MLP(4, [6], 3)
    X = np.random.default_rng(0).normal(size=(9, 4))
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    fisher = diagonal_fisher(model, X, y, batch_size=4)
    expected = {k: torch.zeros_like(v) for k, v in model.named_parameters()}
    for xi, yi in zip(X, y, strict=True):
        model.zero_grad()
        logp = torch.log_softmax(model(torch.tensor(xi[None], dtype=torch.float32)), -1)
        logp[0, yi].backward()
        for k, p in model.named_parameters():
            expected[k] += p.grad**2 / len(X)
    assert_states_close(fisher, expected)


def test_sampled_fisher_approaches_the_exact_expectation() -> None:
    torch.manual_seed(1)
    model = MLP(3, [4], 3)
    X = np.random.default_rng(1).normal(size=(5, 3))
    probs = torch.softmax(model(torch.tensor(X, dtype=torch.float32)), -1).detach().numpy()
    exact = {k: torch.zeros_like(v) for k, v in model.named_parameters()}
    for i in range(len(X)):  # E_y[g^2] = sum_c p(c | x) g_c^2, exactly
        for c in range(3):
            one = diagonal_fisher(model, X[i : i + 1], np.array([c]))
            for k in exact:
                exact[k] += probs[i, c] * one[k] / len(X)
    sampled = diagonal_fisher(model, X, rng=np.random.default_rng(0), n_samples=4000)
    for k in exact:
        torch.testing.assert_close(
            sampled[k], exact[k], atol=0.03 * exact[k].max().item(), rtol=0.1
        )
    again = diagonal_fisher(model, X, rng=np.random.default_rng(0), n_samples=4000)
    assert_states_close(sampled, again, atol=0)
    with pytest.raises(ValueError):
        diagonal_fisher(model, X)


def test_fisher_average_by_hand() -> None:
    # entry 0: Fishers 3 and 1 -> (3*1 + 1*5) / 4 = 2; entry 1: equal Fishers -> plain mean 0
    merged = fisher_average(
        [vec([1.0, -1.0]), vec([5.0, 1.0])], [vec([3.0, 2.0]), vec([1.0, 2.0])], eps=0
    )
    assert_states_close(merged, vec([2.0, 0.0]))
    # weights multiply the Fishers: w = (1, 3) on entry 0 -> (3 + 15) / 6 = 3
    merged = fisher_average(
        [vec([1.0, -1.0]), vec([5.0, 1.0])], [vec([3.0, 2.0]), vec([1.0, 2.0])], [1, 3], eps=0
    )
    assert merged["w"][0].item() == pytest.approx(3.0)


# ------------------------------------------------------- uncertainty-based merge: special cases


@pytest.fixture
def merge_problem():
    rng = np.random.default_rng(0)
    base = random_state(0)
    tuned = [random_state(s) for s in (1, 2, 3)]
    fishers = [
        {k: torch.tensor(rng.gamma(1.0, 1.0, v.shape), dtype=v.dtype) for k, v in base.items()}
        for _ in tuned
    ]
    return base, tuned, fishers


def test_uncertainty_merge_without_base_curvature_is_fisher_averaging(merge_problem) -> None:
    base, tuned, fishers = merge_problem
    sizes, alphas = [10.0, 200.0, 35.0], [0.7, 1.0, 1.3]
    merged = uncertainty_merge(base, tuned, fishers, sizes, alpha=alphas, delta=0.0)
    weights = [a * n for a, n in zip(alphas, sizes, strict=True)]
    assert_states_close(merged, fisher_average(tuned, fishers, weights, eps=0.0), atol=1e-5)
    # a zero base Fisher is the same as none
    zero = {k: torch.zeros_like(v) for k, v in base.items()}
    again = uncertainty_merge(base, tuned, fishers, sizes, zero, 500.0, alphas, delta=0.0)
    assert_states_close(again, merged, atol=1e-6)


def test_uncertainty_merge_with_identity_preconditioning_is_task_arithmetic(merge_problem) -> None:
    base, tuned, fishers = merge_problem
    zero = [{k: torch.zeros_like(v) for k, v in base.items()} for _ in tuned]
    # H_t = 0: Hbar^{-1}(H_0 + H_t) = H_0 / H_0 = I for any positive base curvature
    merged = uncertainty_merge(base, tuned, zero, [5, 6, 7], fishers[0], 100.0, 0.4, delta=0.0)
    assert_states_close(merged, task_arithmetic(base, tuned, 0.4))
    # no curvature anywhere: delta / delta = 1, task arithmetic again
    merged = uncertainty_merge(base, tuned, zero, [5, 6, 7], alpha=0.8, delta=1e-12)
    assert_states_close(merged, task_arithmetic(base, tuned, 0.8))


def test_uncertainty_merge_with_equal_isotropic_curvature_is_simple_averaging(
    merge_problem,
) -> None:
    base, tuned, _ = merge_problem
    T = len(tuned)
    iso = [{k: torch.full_like(v, 2.5) for k, v in base.items()} for _ in tuned]
    base_iso = {k: torch.full_like(v, 0.5) for k, v in base.items()}
    merged = uncertainty_merge(base, tuned, iso, [40] * T, base_iso, 40.0, alpha=1 / T)
    assert_states_close(merged, average(tuned))


def test_uncertainty_merge_is_exact_for_diagonal_quadratic_losses() -> None:
    # l_0 = 1/2 ||theta - theta_0||^2_{H0}, l_t = 1/2 ||theta - m_t||^2_{Ht}; theta_t minimises
    # l_0 + l_t; the merge must equal the minimiser of l_0 + sum_t alpha_t l_t (paper, Sec. 3).
    rng = np.random.default_rng(4)
    d, T = 6, 3
    theta0 = rng.normal(size=d)
    h0 = rng.uniform(0.5, 2.0, size=d)
    fishers = rng.uniform(0.0, 3.0, size=(T, d))
    sizes = np.array([5.0, 50.0, 500.0])
    hs = sizes[:, None] * fishers
    ms = rng.normal(size=(T, d))
    alphas = np.array([0.5, 1.0, 2.0])
    thetas = (h0 * theta0 + hs * ms) / (h0 + hs)
    joint = (h0 * theta0 + (alphas[:, None] * hs * ms).sum(0)) / (
        h0 + (alphas[:, None] * hs).sum(0)
    )
    merged = uncertainty_merge(
        vec(theta0),
        [vec(t) for t in thetas],
        [vec(f) for f in fishers],
        sizes,
        vec(h0 / 10.0),
        10.0,
        alphas,
        delta=0.0,
    )
    np.testing.assert_allclose(merged["w"].numpy(), joint, rtol=1e-10)
    # task arithmetic at the same alphas misses the joint minimiser
    assert (
        np.abs(
            task_arithmetic(vec(theta0), [vec(t) for t in thetas], alphas)["w"].numpy() - joint
        ).max()
        > 0.1
    )


def test_uncertainty_merge_by_hand_and_differs_from_the_special_cases() -> None:
    # one parameter, theta_0 = 0, theta_1 = 1, theta_2 = 3; F_1 = 1, F_2 = 2, N = (1, 1), F_0 = 1,
    # N_0 = 2, alpha = 1: Hbar = 2 + 1 + 2 = 5; step = (2+1)/5 * 1 + (2+2)/5 * 3 = 3/5 + 12/5 = 3
    base, t1, t2 = vec([0.0]), vec([1.0]), vec([3.0])
    merged = uncertainty_merge(
        base, [t1, t2], [vec([1.0]), vec([2.0])], [1, 1], vec([1.0]), 2.0, delta=0.0
    )
    assert merged["w"].item() == pytest.approx(3.0)
    # task arithmetic would give 4, Fisher averaging (1*1 + 2*3)/3 = 7/3
    assert task_arithmetic(base, [t1, t2])["w"].item() == pytest.approx(4.0)


def test_bcwi_end_points_and_soup() -> None:
    old, new1, new2 = vec([0.0, 0.0]), vec([2.0, 4.0]), vec([4.0, 0.0])
    assert_states_close(bcwi(old, [new1], 1.0), old)
    assert_states_close(bcwi(old, [new1, new2], 0.0), vec([3.0, 2.0]))
    assert_states_close(bcwi(old, [new1], 0.25), vec([1.5, 3.0]))
    # Fisher-weighted: old Fisher 3, new 1, alpha 0.5 -> (1.5*0 + 0.5*2) / 2 = 0.5 on entry 0
    f_old, f_new = vec([3.0, 1.0]), vec([1.0, 1.0])
    merged = bcwi(old, [new1], 0.5, f_old, [f_new], eps=0.0)
    assert_states_close(merged, vec([0.5, 2.0]))
    with pytest.raises(ValueError, match="needs fisher_old"):
        bcwi(old, [new1], 0.5, fishers_new=[f_new])


# ------------------------------------------------------------------------------------- TIES


def test_ties_on_hand_made_task_vectors() -> None:
    # Three tasks, five entries; density 0.4 keeps the two largest magnitudes of each task.
    tau1 = [-3.0, -2.0, 0.1, 1.0, 0.5]  # keeps -3, -2           -> [-3, -2,   0, 0, 0]
    tau2 = [-1.0, -0.9, 0.2, -0.3, 5.0]  # keeps -1, 5           -> [-1,  0,   0, 0, 5]
    tau3 = [0.2, 1.5, -0.3, -4.0, 0.0]  # keeps 1.5, -4          -> [ 0, 1.5,  0, -4, 0]
    # sums: [-4, -0.5, 0, -4, 5] -> elected signs [-, -, 0 -> majority, -, +];
    # majority = sign(-1 - 1 + 0 - 1 + 1) = sign(-2) = -1.
    # disjoint means: [(-3 - 1)/2, -2/1, 0 (nothing kept), -4/1, 5/1] = [-2, -2, 0, -4, 5]
    tau = torch.tensor([tau1, tau2, tau3])
    torch.testing.assert_close(
        ties_vector(tau, density=0.4), torch.tensor([-2.0, -2.0, 0.0, -4.0, 5.0])
    )
    base = vec([1.0, 1.0, 1.0, 1.0, 1.0])
    tuned = [vec([1 + t for t in row]) for row in (tau1, tau2, tau3)]
    merged = ties_merge(base, tuned, density=0.4, scale=0.5)
    torch.testing.assert_close(
        merged["w"], torch.tensor([0.0, 0.0, 1.0, -1.0, 3.5], dtype=torch.float64)
    )


def test_ties_majority_sign_for_a_tied_entry() -> None:
    # entry 1: +2 and -2 cancel -> the majority sign of the elected vector, here +
    tau = torch.tensor([[1.0, 2.0, 0.0], [1.0, -2.0, 0.0], [3.0, 0.0, 0.0]])
    # density 1: nothing trimmed; signs [+, 0 -> +, 0 -> +]; entry 1 keeps only +2
    torch.testing.assert_close(ties_vector(tau, density=1.0), torch.tensor([5 / 3, 2.0, 0.0]))


# -------------------------------------------------------------------------------------- PCB


def test_pcb_keeps_one_entry_per_task_at_ratio_one_half() -> None:
    # d = 4, ratio 0.5: scores below the order statistic at index floor(4 * 0.5) = 2 are raised
    # to it, so after min-max only each task's top score keeps a weight (1), the rest 0.
    tau = torch.tensor([[3.0, 1.0, -2.0, 0.5], [1.0, 2.5, -1.0, 0.5]])
    # step 1: |tau| clamped to [x_(0), x_(2)] per task (x_(2) = floor(4 * 0.9999) - 1 = 2):
    #   task 1: |tau| = [3, 1, 2, .5] -> [2, 1, 2, .5]; task 2: [1, 2.5, 1, .5] -> [1, 1, 1, .5]
    # step 2: intra = exp(2 * minmax^2): task 1 [e^2, e^(2/9), e^2, 1], task 2 [e^2, e^2, e^2, 1]
    # step 3: sum = [4, 3.5, -3, 1]; inter = tanh(tau * sum):
    #   task 1 tanh([12, 3.5, 6, .5]); task 2 tanh([4, 8.75, 3, .5])
    # step 4: task 1's top score is entry 0 (e^2 tanh 12 > e^2 tanh 6); task 2's is entry 1.
    clamped, weights = pcb_weights(tau, ratio=0.5)
    torch.testing.assert_close(
        clamped, torch.tensor([[2.0, 1.0, -2.0, 0.5], [1.0, 1.0, -1.0, 0.5]])
    )
    torch.testing.assert_close(weights, torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0]]))
    # step 6: entry 0 = 2 (task 1 alone), entry 1 = 1 (task 2 alone), the rest 0; lambda = 2
    merged = pcb_merge(vec([0.0] * 4), [vec(row) for row in tau.tolist()], ratio=0.5, scale=2.0)
    torch.testing.assert_close(merged["w"], torch.tensor([4.0, 2.0, 0.0, 0.0], dtype=torch.float64))


def test_pcb_fractional_weights_by_hand() -> None:
    # ratio 0.75 on d = 4: scores are raised to the order statistic at index 1, then min-max.
    tau = torch.tensor([[3.0, 1.0, -2.0, 0.5], [1.0, 2.5, -1.0, 0.5]])
    e = np.e
    beta1 = np.array(
        [e**2 * np.tanh(12), e ** (2 / 9) * np.tanh(3.5), e**2 * np.tanh(6), np.tanh(0.5)]
    )
    beta2 = np.array([e**2 * np.tanh(4), e**2 * np.tanh(8.75), e**2 * np.tanh(3), np.tanh(0.5)])
    expected = []
    for beta in (beta1, beta2):
        floor = np.sort(beta)[1]
        raised = np.maximum(beta, floor)
        expected.append((raised - floor) / (raised.max() - floor))
    _, weights = pcb_weights(tau, ratio=0.75)
    torch.testing.assert_close(
        weights.double(), torch.tensor(np.array(expected)), rtol=1e-5, atol=1e-6
    )
    # task 1: beta = [7.389, 1.242, 7.389, 0.462]: floor 1.242, weights [1, 0, 0.99999, 0]
    assert weights[0, 2].item() == pytest.approx(1.0, abs=1e-4) and weights[0, 1] == 0


# ------------------------------------------------------------------------------------ views


def test_digits_domains_sizes_pools_and_transforms() -> None:
    rng = np.random.default_rng(0)
    pools = digits_pools(rng)
    assert sum(len(y) for _, y in pools.values()) == 1797
    domains = digits_domains(
        ["identity", "rotate90", "noise"], [50, 120, 30], rng, n_val=20, pools=pools
    )
    assert [d.n_train for d in domains] == [50, 120, 30]
    assert all(len(d.y_val) == 20 and len(d.y_test) == len(pools["test"][1]) for d in domains)
    # identity test images are exactly the test pool (in pool order)
    np.testing.assert_array_equal(domains[0].X_test, pools["test"][0])
    rot = make_transform("rotate90", rng)
    x = pools["train"][0][:3]
    np.testing.assert_array_equal(rot(rot(rot(rot(x)))), x)
    assert not np.array_equal(rot(x), x)
    blocks = make_transform("blocks", np.random.default_rng(3))
    np.testing.assert_array_equal(np.sort(blocks(x), axis=1), np.sort(x, axis=1))
    with pytest.raises(ValueError):
        make_transform("swirl", rng)


def test_label_subset_relabels() -> None:
    X = np.arange(6)[:, None].astype(float)
    y = np.array([5, 0, 7, 5, 9, 7])
    Xs, ys = label_subset(X, y, [7, 5])
    np.testing.assert_array_equal(Xs[:, 0], [0, 2, 3, 5])
    np.testing.assert_array_equal(ys, [1, 0, 1, 0])
    with pytest.raises(ValueError):
        label_subset(X, y, [1])
