"""The registered correlation regularisers: topological_t1, topological_t2, decorrelation, decov."""

from __future__ import annotations

import numpy as np
import pydantic
import pytest
import torch

from functional.correlation.tensors import correlation_distance, correlation_matrix
from functional.persistence.h0 import mst_edges
from models.regularisers import RegulariserParams, get_regulariser, list_regularisers
from models.regularisers.selection import select_neurons
from models.regularisers.topological import h0_deaths

NAMES = ["topological_t1", "topological_t2", "decorrelation", "decov"]

# (name, params) pairs exercised by the generic tests
CASES = [
    ("topological_t1", {}),
    ("topological_t1", {"fraction": 0.5, "normalise": True}),
    ("topological_t2", {}),
    ("topological_t2", {"fraction": 0.5, "alpha": 0.8}),
    ("decorrelation", {}),
    ("decorrelation", {"fraction": 0.5}),
    ("decov", {}),
    ("decov", {"layers": ("fc1", "output")}),
]


def _randn(*shape, seed=0, dtype=torch.float64):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def _activations(seed=0, batch=16, widths=(6, 5, 3), dtype=torch.float64):
    names = [f"fc{i + 1}" for i in range(len(widths) - 1)] + ["output"]
    return {name: _randn(batch, w, seed=seed + 100 * k, dtype=dtype)
            for k, (name, w) in enumerate(zip(names, widths))}


def _call(name, params, activations):
    spec = get_regulariser(name)
    return spec.fn(spec.params(**params), activations)


@pytest.mark.parametrize("name", NAMES)
def test_registered_with_contract(name):
    assert name in list_regularisers()
    spec = get_regulariser(name)
    assert spec.version == 1 and spec.paper and spec.needs_activations
    assert "arXiv:2308.04870" in spec.paper or "ICLR 2016" in spec.paper
    assert spec.fn.__doc__ and "Returns" in spec.fn.__doc__
    p = spec.params()
    with pytest.raises(pydantic.ValidationError):
        spec.params(unknown_key=1)
    with pytest.raises(pydantic.ValidationError):
        p.some_field = 1  # frozen
    assert spec.params.model_validate_json(p.model_dump_json()) == p


@pytest.mark.parametrize("name", ["topological_t1", "topological_t2", "decorrelation"])
@pytest.mark.parametrize("fraction", [0.0, 1.5])
def test_fraction_out_of_range(name, fraction):
    with pytest.raises(pydantic.ValidationError):
        get_regulariser(name).params(fraction=fraction)


@pytest.mark.parametrize("name,params", CASES)
def test_gradcheck(name, params):
    acts = _activations(seed=1)
    keys = list(acts)
    leaves = tuple(acts[k].clone().requires_grad_() for k in keys)
    assert torch.autograd.gradcheck(lambda *xs: _call(name, params, dict(zip(keys, xs))), leaves)


@pytest.mark.parametrize("name", ["topological_t1", "topological_t2"])
def test_directional_finite_differences_wider(name):
    # 60 neurons: central differences along random directions against autograd
    acts = _activations(seed=2, batch=40, widths=(30, 20, 10))
    keys = list(acts)
    xs = [acts[k].clone().requires_grad_() for k in keys]
    _call(name, {}, dict(zip(keys, xs))).backward()
    gen = torch.Generator().manual_seed(3)
    for _ in range(3):
        vs = [torch.randn(x.shape, generator=gen, dtype=x.dtype) for x in xs]
        eps = 1e-6
        plus = _call(name, {}, {k: x.detach() + eps * v for k, x, v in zip(keys, xs, vs)})
        minus = _call(name, {}, {k: x.detach() - eps * v for k, x, v in zip(keys, xs, vs)})
        fd = (plus - minus).item() / (2 * eps)
        ad = sum((x.grad * v).sum().item() for x, v in zip(xs, vs))
        assert fd == pytest.approx(ad, rel=1e-6, abs=1e-8)


def _bad_batch(dtype=torch.float64):
    acts = _activations(seed=4, batch=32, widths=(7, 6, 3), dtype=dtype)
    B = 32
    fc1 = torch.cat([acts["fc1"][:, :3], torch.zeros(B, 1, dtype=dtype), acts["fc1"][:, 3:]], 1)  # dead ReLU
    fc2 = torch.cat([acts["fc2"], torch.full((B, 1), 0.7, dtype=dtype)], 1)  # constant non-zero
    bad = {"fc1": [3], "fc2": [6]}
    return acts, {"fc1": fc1, "fc2": fc2, "output": acts["output"]}, bad


def _grads(name, params, acts):
    xs = {k: v.clone().requires_grad_() for k, v in acts.items()}
    value = _call(name, params, xs)
    value.backward()
    return value.detach(), {k: torch.zeros_like(x) if x.grad is None else x.grad for k, x in xs.items()}


def _live(grads, bad):
    keep = {k: [i for i in range(g.shape[1]) if i not in bad.get(k, [])] for k, g in grads.items()}
    return {k: g[:, keep[k]] for k, g in grads.items()}


@pytest.mark.parametrize("name,params", CASES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_no_nan_gradient_with_dead_and_constant_neurons(name, params, dtype):
    _, acts, bad = _bad_batch(dtype)
    value, grads = _grads(name, params, acts)
    assert torch.isfinite(value)
    for k, g in grads.items():
        assert torch.isfinite(g).all(), k
        if name != "decov":  # correlation-based: the bad neurons get no gradient
            assert (g[:, bad.get(k, [])] == 0).all()


@pytest.mark.parametrize("name", ["topological_t1", "decorrelation", "decov"])
def test_live_gradients_as_if_bad_neurons_were_removed(name):
    clean, acts, bad = _bad_batch()
    value, grads = _grads(name, {}, acts)
    value_clean, grads_clean = _grads(name, {}, clean)
    if name == "topological_t1":
        # each zero-variance neuron is a death of exactly 1: a constant shift
        assert value.item() == pytest.approx(value_clean.item() - 2, abs=1e-12)
    else:
        assert value.item() == pytest.approx(value_clean.item(), abs=1e-12)
    for k, g in _live(grads, bad).items():
        torch.testing.assert_close(g, grads_clean[k], atol=1e-12, rtol=1e-10)


def test_t2_counts_bad_neurons_as_deaths_of_one():
    clean, acts, bad = _bad_batch()
    alpha = 0.5
    value, grads = _grads("topological_t2", {"alpha": alpha}, acts)
    xs = {k: v.clone().requires_grad_() for k, v in clean.items()}
    d = torch.cat([h0_deaths(correlation_distance(select_neurons(xs))), torch.ones(2, dtype=torch.float64)])
    expected = alpha * d.std(correction=0) - (1 - alpha) * d.mean()
    expected.backward()
    assert value.item() == pytest.approx(expected.item(), abs=1e-12)
    for k, g in _live(grads, bad).items():
        torch.testing.assert_close(g, xs[k].grad, atol=1e-12, rtol=1e-10)


def test_t2_equal_deaths_give_zero_not_nan_gradient():
    acts = {"fc1": torch.ones(8, 4, requires_grad=True), "output": torch.full((8, 2), 2.0, requires_grad=True)}
    value = _call("topological_t2", {}, acts)  # all deaths 1: std 0
    value.backward()
    assert value.item() == pytest.approx(-0.5)
    assert (acts["fc1"].grad == 0).all() and (acts["output"].grad == 0).all()


def test_t1_and_t2_values_by_hand():
    acts = _activations(seed=5)
    X = select_neurons(acts, 1.0)
    D = correlation_distance(X).numpy()
    _, w = mst_edges(D)
    assert _call("topological_t1", {}, acts).item() == pytest.approx(-w.sum(), abs=1e-12)
    assert _call("topological_t1", {"normalise": True}, acts).item() == pytest.approx(-w.mean(), abs=1e-12)
    for a in (0.0, 0.3, 1.0):
        t2 = _call("topological_t2", {"alpha": a}, acts).item()
        assert t2 == pytest.approx(a * np.std(w) - (1 - a) * np.mean(w), abs=1e-12)


def test_too_few_neurons_give_zero():
    one = {"output": _randn(8, 1).requires_grad_()}
    for name in ["topological_t1", "topological_t2", "decorrelation"]:
        assert _call(name, {}, one).item() == 0


def test_decorrelation_equals_mean_abs_corrcoef():
    acts = _activations(seed=6, batch=40, widths=(10, 8, 4))
    C = np.corrcoef(torch.cat(list(acts.values()), 1).numpy().T)
    iu = np.triu_indices_from(C, k=1)
    assert _call("decorrelation", {}, acts).item() == pytest.approx(np.abs(C[iu]).mean(), abs=1e-12)
    sel = select_neurons(acts, 0.5)
    C = np.corrcoef(sel.numpy().T)
    iu = np.triu_indices_from(C, k=1)
    assert _call("decorrelation", {"fraction": 0.5}, acts).item() == pytest.approx(np.abs(C[iu]).mean(), abs=1e-12)


def _decov_by_hand(h: np.ndarray) -> float:
    N, n = h.shape
    mu = h.mean(axis=0)
    total = 0.0
    for i in range(n):
        for j in range(n):
            if i != j:
                cij = sum((h[k, i] - mu[i]) * (h[k, j] - mu[j]) for k in range(N)) / N
                total += cij ** 2
    return 0.5 * total


def test_decov_by_hand():
    h = torch.tensor([[1.0, 2.0, 0.0], [3.0, 2.5, 1.0], [2.0, 0.5, 4.0], [0.0, 1.0, 1.0]], dtype=torch.float64)
    acts = {"fc1": _randn(4, 5), "fc2": h, "output": _randn(4, 2)}
    # default: the last hidden layer, fc2. Covariance C (1/N): off-diagonal entries
    # C01 = 0.375, C02 = 0.5, C12 = -0.875 -> 0.5 * 2 * (C01^2 + C02^2 + C12^2) = 1.15625
    expected = 0.375 ** 2 + 0.5 ** 2 + 0.875 ** 2
    assert _decov_by_hand(h.numpy()) == pytest.approx(expected)
    assert _call("decov", {}, acts).item() == pytest.approx(expected, abs=1e-12)
    both = _call("decov", {"layers": ("fc1", "fc2")}, acts).item()
    assert both == pytest.approx(_decov_by_hand(acts["fc1"].numpy()) + expected, abs=1e-12)


def test_decov_wide_layer_uses_gram_identity():
    h = _randn(5, 12, seed=7)  # wider than the batch
    assert _call("decov", {"layers": ("h",)}, {"h": h, "output": h[:, :2]}).item() == pytest.approx(
        _decov_by_hand(h.numpy()), abs=1e-10)


def test_decov_layer_errors():
    acts = _activations()
    with pytest.raises(KeyError, match="did you mean 'fc1'"):
        _call("decov", {"layers": ("fc_1",)}, acts)
    with pytest.raises(ValueError, match="no hidden layer"):
        _call("decov", {}, {"output": acts["output"]})


def test_half_precision_activations():
    acts = {k: v.to(torch.bfloat16) for k, v in _activations(seed=8, batch=32).items()}
    for name in NAMES:
        value = _call(name, {}, acts)
        assert value.dtype == torch.float32 and torch.isfinite(value)


def test_t1_decorrelates_along_sgd():
    """A few SGD steps on T1 alone lower |corr| along the MST edges (and over all pairs)."""
    torch.manual_seed(0)
    net = torch.nn.ModuleList([torch.nn.Linear(8, 12), torch.nn.Linear(12, 6), torch.nn.Linear(6, 3)])
    x = torch.randn(64, 8)

    def forward():
        h1 = torch.tanh(net[0](x))
        h2 = torch.tanh(net[1](h1))
        return {"fc1": h1, "fc2": h2, "output": net[2](h2)}

    def mst_and_all_pairs_abs_corr(acts):
        with torch.no_grad():
            X = select_neurons(acts, 1.0)
            _, w = mst_edges(correlation_distance(X).numpy())
            C, _ = correlation_matrix(X)
            iu = torch.triu_indices(C.shape[0], C.shape[0], 1)
        return 1 - w.mean(), C.abs()[iu[0], iu[1]].mean().item()

    spec = get_regulariser("topological_t1")
    params = spec.params()
    opt = torch.optim.SGD(net.parameters(), lr=0.02)
    values = []
    start = mst_and_all_pairs_abs_corr(forward())
    for _ in range(12):
        value = spec.fn(params, forward())
        values.append(value.item())
        opt.zero_grad()
        value.backward()
        opt.step()
    end = mst_and_all_pairs_abs_corr(forward())
    # T1 is piecewise smooth (the MST changes), so single steps may go up a little
    assert values[-1] < values[0] - 2.0
    assert sum(b < a for a, b in zip(values, values[1:])) >= 8  # of 11 steps
    assert end[0] < start[0] - 0.1  # mean |corr| along the MST edges
    assert end[1] < start[1]  # and over all pairs


@pytest.mark.parametrize("name", NAMES)
def test_bare_params_mean_defaults(name):
    spec = get_regulariser(name)
    acts = _activations(seed=9)
    assert spec.fn(RegulariserParams(), acts).item() == spec.fn(spec.params(), acts).item()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name,params", CASES)
def test_cuda_matches_cpu(name, params):
    acts = _activations(seed=10, batch=64, widths=(40, 30, 10), dtype=torch.float32)
    cpu_value, cpu_grads = _grads(name, params, acts)
    gpu_value, gpu_grads = _grads(name, params, {k: v.cuda() for k, v in acts.items()})
    assert gpu_value.device.type == "cuda"
    torch.testing.assert_close(gpu_value.cpu(), cpu_value, atol=1e-4, rtol=1e-4)
    for k in acts:
        torch.testing.assert_close(gpu_grads[k].cpu(), cpu_grads[k], atol=1e-4, rtol=1e-3)
