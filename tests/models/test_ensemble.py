"""Population training: an ensemble trained as one batched computation is, member by member, bit for bit
what train() gives each network alone; what cannot be batched says why and falls back to train()."""

import pytest
import torch
from torch import nn

from models.architectures import MLPParams, build_model
from models.data import DatasetSpec, DataSplits, load_splits
from models.regularisers import get_regulariser
from models.training import RegulariserSpec, TrainingSpec, train
from models.training.ensemble import ensemble_compatible, ensemble_key, train_ensemble
from models.training.stacked_sgd import StackedSGD

NONE = RegulariserSpec()


def _members(seeds, params, dataset):
    out = []
    for seed in seeds:
        data = dataset(seed)
        torch.manual_seed(seed)
        out.append((build_model("mlp", params, data.input_shape, data.n_classes), data))
    return out


def _digits(noise=0.0):
    return lambda seed: load_splits(DatasetSpec(name="digits", train_subset=300, label_noise=noise), seed)


def _anti_val(seed):
    """Validation labels are a permutation of the training labels on the same inputs: the validation
    loss rises as the network learns, so early stopping triggers."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(120, 8, generator=g)
    y = torch.arange(120) % 4
    return DataSplits(x={"train": x, "val": x, "test": x}, y={"train": y, "val": (y + 1) % 4, "test": y},
                      y_train_clean=y, n_classes=4)


def _assert_same_as_train(seeds, specs, params=None, dataset=None, threads=1):
    """Train every member alone with train() and all together with train_ensemble(); compare everything
    (on ``threads`` CPU threads: small networks train fastest on one)."""
    params, dataset = params or MLPParams(depth=2, width=32), dataset or _digits()
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        alone, together = _members(seeds, params, dataset), _members(seeds, params, dataset)
        expected = [train(m, d, s, NONE, seed) for (m, d), s, seed in zip(alone, specs, seeds)]
        seen = [[] for _ in seeds]
        got = train_ensemble([m for m, _ in together], [d for _, d in together], specs, NONE, seeds,
                             on_epoch=[s.append for s in seen])
    finally:
        torch.set_num_threads(before)
    for k, (a, b) in enumerate(zip(expected, got)):
        assert b.metrics == a.metrics, f"member {k}"  # every epoch's loss, accuracy, lr, restored_from
        assert seen[k] == a.metrics
        assert a.checkpoints.keys() == b.checkpoints.keys()
        for epoch, state in a.checkpoints.items():
            assert all(torch.equal(v, b.checkpoints[epoch][n]) for n, v in state.items()), f"member {k} epoch {epoch}"
        assert (b.best_epoch, b.stopped_epoch, b.notes) == (a.best_epoch, a.stopped_epoch, a.notes)
        final_a, final_b = alone[k][0].state_dict(), together[k][0].state_dict()
        assert all(torch.equal(v, final_b[n]) and final_b[n].is_contiguous() for n, v in final_a.items())
        assert not together[k][0].training
    return expected


BASE = {"epochs": 3, "batch_size": 32, "lr": 0.1, "checkpoints": (1,)}


def test_members_differing_in_seed_are_bit_identical_to_train():
    r = _assert_same_as_train([0, 1, 2], [TrainingSpec(**BASE)] * 3)
    assert r[0].metrics[-1].accuracy["train"] > 0.5 and r[0].metrics != r[1].metrics


def test_members_differing_in_hyperparameters_and_label_noise_are_bit_identical_to_train():
    specs = [TrainingSpec(**{**BASE, "lr": 0.05}),
             TrainingSpec(**{**BASE, "weight_decay": 1e-3, "schedule": "cosine", "warmup_epochs": 1}),
             TrainingSpec(**{**BASE, "lr": 0.2, "momentum": 0.0, "milestones": (1,), "checkpoints": (2,)}),
             TrainingSpec(**{**BASE, "momentum": 0.5, "weight_decay": 5e-4, "schedule": "constant"})]
    _assert_same_as_train([0, 1, 2, 3], specs, dataset=_digits(noise=0.2))


def test_nesterov_and_label_smoothing():
    spec = TrainingSpec(**{**BASE, "nesterov": True, "label_smoothing": 0.1, "weight_decay": 1e-4})
    _assert_same_as_train([0, 1], [spec, spec.model_copy(update={"lr": 0.03})])


@pytest.mark.parametrize("activation, width, batch_size, depth", [("relu", 17, 25, 2), ("tanh", 5, 7, 1),
                                                                   ("gelu", 30, 50, 3), ("relu", 13, 33, 0)])
def test_shapes_that_misalign_the_stack_or_take_other_kernels(activation, width, batch_size, depth):
    spec = TrainingSpec(**{**BASE, "epochs": 2, "batch_size": batch_size})
    _assert_same_as_train([0, 1, 2], [spec] * 3, MLPParams(depth=depth, width=width, activation=activation))


@pytest.mark.parametrize("threads", [1, 2])
def test_bit_identical_at_each_thread_count(threads):
    _assert_same_as_train([4, 5], [TrainingSpec(**{**BASE, "epochs": 2, "batch_size": 48})] * 2,
                          MLPParams(depth=2, width=24), _anti_val, threads=threads)


def test_early_stopping_per_member():
    specs = [TrainingSpec(epochs=12, batch_size=30, lr=0.1, early_stopping_patience=p, checkpoints=(2, 8))
             for p in (2, 4, None)]
    r = _assert_same_as_train([0, 1, 2], specs, MLPParams(depth=1, width=16), _anti_val)
    assert r[0].stopped_epoch is not None and r[1].stopped_epoch > r[0].stopped_epoch
    assert r[2].stopped_epoch is None and len(r[2].metrics) == 13


def test_augmentation_and_the_amp_note(vision_root):
    def cifar(seed):
        return load_splits(DatasetSpec(name="cifar10", root=str(vision_root), augment=True, label_noise=0.1), seed)

    spec = TrainingSpec(epochs=2, batch_size=16, lr=0.05, amp=True)
    r = _assert_same_as_train([0, 1], [spec] * 2, MLPParams(depth=1, width=16), cifar)
    assert r[0].notes[0].startswith("amp ignored")


def test_stacked_sgd_is_torchs_sgd_per_member():
    """Per-member learning rate, momentum and weight decay, some of them zero, over a few steps."""
    hyper = [(0.1, 0.9, 0.0), (0.05, 0.0, 1e-3), (0.2, 0.5, 5e-4)]
    g = torch.Generator().manual_seed(0)
    params = [torch.randn(7, 5, generator=g) for _ in hyper]
    singles = [nn.Parameter(p.clone()) for p in params]
    optims = [torch.optim.SGD([p], lr=lr, momentum=m, weight_decay=wd) for p, (lr, m, wd) in zip(singles, hyper)]
    stacked = {"w": torch.stack(params).requires_grad_()}
    sgd = StackedSGD([TrainingSpec(lr=lr, momentum=m, weight_decay=wd) for lr, m, wd in hyper])
    for step in range(4):
        grads = torch.randn(len(hyper), 7, 5, generator=g)
        for p, o, grad in zip(singles, optims, grads):
            p.grad = grad.clone()
            o.step()
        stacked["w"].grad = grads
        sgd.step(stacked, [lr for lr, _, _ in hyper])
        assert all(torch.equal(p.detach(), stacked["w"][k].detach()) for k, p in enumerate(singles)), step


# --- what is not batched -------------------------------------------------------------------------------------


def _check(params=None, reg=NONE, **spec):
    params, data = params or MLPParams(depth=1, width=16), _digits()(0)
    torch.manual_seed(0)
    models = [build_model("mlp", params, data.input_shape, data.n_classes) for _ in range(2)]
    specs = [TrainingSpec(**{**BASE, **spec})] * 2
    return ensemble_compatible(models, [data] * 2, specs, [reg] * 2)


@pytest.mark.parametrize("kwargs, reason", [
    ({"params": MLPParams(batch_norm=True)}, "BatchNorm1d"),
    ({"params": MLPParams(dropout=0.1)}, "Dropout"),
    ({"params": MLPParams(activation="sigmoid")}, "sigmoid"),
    ({"optimizer": "adam"}, "only SGD is batched"),
    ({"grad_clip": 1.0}, "grad_clip"),
    ({"compile": True}, "compile"),
    ({"reg": RegulariserSpec(name="decorrelation", weight=0.1,
                             params=get_regulariser("decorrelation").params())}, "regulariser 'decorrelation'"),
])
def test_ensemble_compatible_says_why_not(kwargs, reason):
    verdict = _check(**kwargs)
    assert not verdict and reason in verdict.reason
    assert _check()  # the plain setup is batched


def test_members_must_share_shapes_and_the_batch_size():
    data = _digits()(0)
    torch.manual_seed(0)
    narrow, wide = (build_model("mlp", MLPParams(width=w), data.input_shape, 10) for w in (16, 32))
    assert "differ in architecture" in ensemble_compatible([narrow, wide], [data] * 2, [TrainingSpec()] * 2,
                                                           [NONE] * 2).reason
    specs = [TrainingSpec(batch_size=32), TrainingSpec(batch_size=64)]
    assert "batch_size differs" in ensemble_compatible([narrow, narrow], [data] * 2, specs, [NONE] * 2).reason
    smaller = load_splits(DatasetSpec(name="digits", train_subset=200), 0)
    assert "training split" in ensemble_compatible([narrow, narrow], [data, smaller], [TrainingSpec()] * 2,
                                                   [NONE] * 2).reason


def test_ensemble_key_groups_what_can_be_batched():
    dataset, params, spec = DatasetSpec(name="digits"), MLPParams(), TrainingSpec()
    key = ensemble_key(dataset, "mlp", params, spec, NONE)
    assert key is not None
    assert ensemble_key(dataset.model_copy(update={"label_noise": 0.2}), "mlp", params,
                        spec.model_copy(update={"lr": 0.3, "weight_decay": 1e-4, "checkpoints": (5,)}), NONE) == key
    assert ensemble_key(dataset, "mlp", MLPParams(width=64), spec, NONE) not in (key, None)
    assert ensemble_key(dataset, "mlp", params, TrainingSpec(batch_size=32), NONE) not in (key, None)
    assert ensemble_key(dataset, "mlp", MLPParams(dropout=0.1), spec, NONE) is None
    assert ensemble_key(dataset, "conv", params, spec, NONE) is None
    assert ensemble_key(dataset, "mlp", params, TrainingSpec(optimizer="adam"), NONE) is None


def test_sequences_of_the_wrong_length_are_an_error():
    members = _members([0, 1], MLPParams(depth=1, width=8), _digits())
    with pytest.raises(ValueError, match="one entry per model"):
        train_ensemble([m for m, _ in members], [d for _, d in members], TrainingSpec(), NONE, [0])


def test_what_cannot_be_batched_is_trained_one_by_one_with_train():
    spec = TrainingSpec(**{**BASE, "optimizer": "adam", "lr": 0.01})
    assert not _check(optimizer="adam", lr=0.01)
    _assert_same_as_train([0, 1], [spec] * 2)
