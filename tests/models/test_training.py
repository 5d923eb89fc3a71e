"""The training loop: it learns, it is bit-identical for the same seed on the CPU, and its options do what they say."""

import math

import pytest
import torch
from pydantic import ValidationError
from torch import nn

from models.architectures import MLPParams, build_model
from models.data import DatasetSpec, DataSplits, load_splits
from models.training import RegulariserSpec, TrainingSpec, learning_rate, train


def _train(seed: int, **kw):
    torch.use_deterministic_algorithms(True)
    data = load_splits(DatasetSpec(name="digits", train_subset=400), seed)
    torch.manual_seed(seed)
    model = build_model("mlp", MLPParams(depth=1, width=32), data.input_shape, data.n_classes)
    spec = TrainingSpec(**{"epochs": 4, "batch_size": 32, "lr": 0.1, "checkpoints": (2,), **kw})
    return train(model, data, spec, RegulariserSpec(), seed)


def test_learns_and_saves_checkpoints():
    r = _train(0, milestones=(3,))
    assert [m.epoch for m in r.metrics] == [0, 1, 2, 3, 4]
    assert r.metrics[0].accuracy["train"] < 0.3 < 0.8 < r.metrics[-1].accuracy["train"]
    assert sorted(r.checkpoints) == [2, 4]
    assert not torch.equal(r.checkpoints[2]["blocks.fc1.layer.weight"], r.checkpoints[4]["blocks.fc1.layer.weight"])


def test_same_seed_bit_identical_other_seed_differs():
    a, b, c = _train(0), _train(0), _train(1)
    assert [m.loss for m in a.metrics] == [m.loss for m in b.metrics]
    assert all(torch.equal(a.checkpoints[4][k], b.checkpoints[4][k]) for k in a.checkpoints[4])
    assert [m.loss for m in a.metrics] != [m.loss for m in c.metrics]


def test_adam_runs():
    r = _train(0, optimizer="adam")
    assert r.metrics[-1].accuracy["train"] > 0.8


# --- options -------------------------------------------------------------------------------------------------


def test_new_options_at_their_defaults_leave_the_canonical_form_unchanged():
    assert TrainingSpec().model_dump(mode="json", exclude_defaults=True) == {}


def test_multistep_is_torchs_multisteplr_exactly():
    spec = TrainingSpec(lr=0.3, epochs=12, milestones=(2, 5, 5, 9), gamma=0.3)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=spec.lr)
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=list(spec.milestones), gamma=spec.gamma)
    for epoch in range(1, spec.epochs + 1):
        assert learning_rate(spec, epoch) == opt.param_groups[0]["lr"]  # bit for bit
        opt.step()
        sched.step()
    assert learning_rate(spec, 3) == 0.3 * 0.3 and learning_rate(spec, 1) == 0.3


def test_cosine_and_constant_closed_forms():
    spec = TrainingSpec(lr=0.2, epochs=10, schedule="cosine")
    for epoch in range(1, 11):
        assert learning_rate(spec, epoch) == pytest.approx(0.2 * 0.5 * (1 + math.cos(math.pi * (epoch - 1) / 10)))
    assert learning_rate(spec, 1) == 0.2 and learning_rate(spec, 6) == pytest.approx(0.1)
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    for epoch in range(1, 11):
        assert learning_rate(spec, epoch) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-12)
        opt.step()
        sched.step()
    assert {learning_rate(TrainingSpec(lr=0.2, schedule="constant"), e) for e in range(1, 41)} == {0.2}


def test_linear_warmup_batch_by_batch_then_the_schedule():
    spec = TrainingSpec(lr=0.1, epochs=10, schedule="cosine", warmup_epochs=2)
    steps = 4  # batches per epoch: the warm-up has 8 batches, lr * 1/8 ... lr * 8/8
    warm = [learning_rate(spec, e, s, steps) for e in (1, 2) for s in range(steps)]
    assert warm == pytest.approx([0.1 * k / 8 for k in range(1, 9)])
    assert learning_rate(spec, 3, 0, steps) == 0.1  # the cosine starts after the warm-up ...
    assert learning_rate(spec, 10, 0, steps) == pytest.approx(0.1 * 0.5 * (1 + math.cos(math.pi * 7 / 8)))  # ... over 8
    multistep = TrainingSpec(lr=0.1, epochs=10, milestones=(1,), gamma=0.5, warmup_epochs=2)
    assert learning_rate(multistep, 2, 1, 2) == pytest.approx(0.05 * 4 / 4)  # the milestone applies during warm-up


def test_the_loop_uses_the_schedule():
    r = _train(0, schedule="cosine", warmup_epochs=1)
    spec = TrainingSpec(epochs=4, batch_size=32, lr=0.1, schedule="cosine", warmup_epochs=1)
    steps = math.ceil(len(load_splits(DatasetSpec(name="digits", train_subset=400), 0).x["train"]) / 32)
    assert [m.lr for m in r.metrics] == [None] + [learning_rate(spec, e, steps - 1, steps) for e in range(1, 5)]
    assert r.metrics[1].lr == r.metrics[2].lr == 0.1 > r.metrics[3].lr > r.metrics[4].lr  # warm-up, then cosine


def _one_step(model, x, y, **kw):
    """One full-batch step of plain SGD (no momentum): the update is -lr * gradient."""
    data = DataSplits(x={"train": x, "val": x, "test": x}, y={"train": y, "val": y, "test": y},
                      y_train_clean=y, n_classes=int(y.max()) + 1)
    before = [p.detach().clone() for p in model.parameters()]
    spec = TrainingSpec(epochs=1, batch_size=len(x), lr=1.0, momentum=0.0, **kw)
    train(model, data, spec, RegulariserSpec(), 0)
    return [b - p.detach() for b, p in zip(before, model.parameters())]  # = lr * applied gradient


def _tiny(seed=0):
    torch.manual_seed(seed)
    model = build_model("mlp", MLPParams(depth=1, width=6), (5,), 3)
    g = torch.Generator().manual_seed(seed)
    return model, torch.randn(12, 5, generator=g) * 3, torch.arange(12) % 3


def test_label_smoothing_trains_on_the_smoothed_cross_entropy():
    model, x, y = _tiny()
    reference = build_model("mlp", MLPParams(depth=1, width=6), (5,), 3)
    reference.load_state_dict(model.state_dict())
    applied = _one_step(model, x, y, label_smoothing=0.2)
    logp = torch.log_softmax(reference(x), 1)  # (1 - eps) * NLL + eps * mean over classes of -log p
    loss = (0.8 * -logp[torch.arange(12), y] + 0.2 * -logp.mean(1)).mean()
    assert torch.allclose(loss, nn.functional.cross_entropy(reference(x), y, label_smoothing=0.2))
    loss.backward()
    for step, p in zip(applied, reference.parameters()):
        assert torch.allclose(step, p.grad, atol=1e-6)


def test_gradient_clipping_bounds_the_global_norm():
    model, x, y = _tiny()
    raw = _one_step(_tiny()[0], x, y)
    clipped = _one_step(model, x, y, grad_clip=0.05)
    raw_norm = torch.cat([s.flatten() for s in raw]).norm()
    assert raw_norm > 0.5
    assert torch.cat([s.flatten() for s in clipped]).norm() == pytest.approx(0.05, rel=1e-4)
    for r, c in zip(raw, clipped):  # same direction, scaled by clip / norm
        assert torch.allclose(c, r * 0.05 / raw_norm, atol=1e-7)
    loose = _one_step(_tiny()[0], x, y, grad_clip=100.0)
    assert all(torch.equal(a, b) for a, b in zip(loose, raw))


def _anti_val_data(n=120):
    """Validation labels are a permutation of the training labels on the same inputs: as the network
    learns the training labels, the validation loss rises."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 8, generator=g)
    y = torch.arange(n) % 4
    return DataSplits(x={"train": x, "val": x, "test": x}, y={"train": y, "val": (y + 1) % 4, "test": y},
                      y_train_clean=y, n_classes=4)


def _early(patience, epochs=20, **kw):
    data = _anti_val_data()
    torch.manual_seed(0)
    model = build_model("mlp", MLPParams(depth=1, width=16), (8,), 4)
    spec = TrainingSpec(epochs=epochs, batch_size=30, lr=0.1, early_stopping_patience=patience, **kw)
    return model, train(model, data, spec, RegulariserSpec(), 0)


def test_early_stopping_stops_restores_and_fills_later_checkpoints():
    model, r = _early(3, checkpoints=(1, 2, 10))
    val = [m.loss["val"] for m in r.metrics]
    assert r.best_epoch == 1 and r.stopped_epoch == 4  # val loss rises from epoch 1: stop after 1 + 3 epochs
    assert val[1] < val[2] < val[3] < val[4]
    assert [m.epoch for m in r.metrics] == [0, 1, 2, 3, 4, 10, 20]
    assert [m.restored_from for m in r.metrics] == [None] * 5 + [1, 1]
    assert sorted(r.checkpoints) == [1, 2, 10, 20]
    for epoch in (10, 20):  # the frozen network is epoch 1's: weights and metrics
        assert all(torch.equal(r.checkpoints[epoch][k], r.checkpoints[1][k]) for k in r.checkpoints[1])
        assert r.metrics[-1].loss == r.metrics[1].loss and r.metrics[-1].accuracy == r.metrics[1].accuracy
    assert not torch.equal(r.checkpoints[2]["blocks.fc1.layer.weight"], r.checkpoints[1]["blocks.fc1.layer.weight"])
    assert torch.equal(model.state_dict()["blocks.fc1.layer.weight"], r.checkpoints[1]["blocks.fc1.layer.weight"])
    assert any("early stopping after epoch 4" in n and "epoch 1" in n for n in r.notes)


def test_early_stopping_that_never_triggers_keeps_the_last_weights():
    _, r = _early(50, epochs=5)
    assert r.stopped_epoch is None and r.best_epoch == 1 and [m.epoch for m in r.metrics] == [0, 1, 2, 3, 4, 5]
    assert any("did not trigger" in n for n in r.notes)
    _, on_last = _early(4, epochs=5)  # patience runs out at the last epoch: nothing to stop
    assert on_last.stopped_epoch is None and len(on_last.metrics) == 6


def test_early_stopping_needs_a_validation_split():
    data = load_splits(DatasetSpec(name="digits", val_fraction=0.0, train_subset=100), 0)
    model = build_model("mlp", MLPParams(depth=1, width=8), data.input_shape, data.n_classes)
    with pytest.raises(ValueError, match="needs a validation split"):
        train(model, data, TrainingSpec(epochs=2, early_stopping_patience=1), RegulariserSpec(), 0)


def test_amp_is_ignored_on_the_cpu_with_a_note():
    a, b = _train(0, amp=True), _train(0)
    assert [m.loss for m in a.metrics] == [m.loss for m in b.metrics]
    assert a.notes == ["amp ignored: mixed precision is used on CUDA only; trained in float32 on cpu"] and b.notes == []


def test_optimizer_options():
    plain, nesterov = _train(0), _train(0, nesterov=True)
    assert [m.loss for m in plain.metrics][1:] != [m.loss for m in nesterov.metrics][1:]
    adam = _train(0, optimizer="adam", lr=0.01, weight_decay=0.1)
    adamw = _train(0, optimizer="adamw", lr=0.01, weight_decay=0.1)
    assert adamw.metrics[-1].accuracy["train"] > 0.8 and adam.metrics[-1].loss != adamw.metrics[-1].loss


def test_option_errors():
    with pytest.raises(ValidationError, match="nesterov needs optimizer = \"sgd\" and momentum > 0"):
        TrainingSpec(optimizer="adam", nesterov=True)
    with pytest.raises(ValidationError, match="milestones only apply to schedule = \"multistep\""):
        TrainingSpec(schedule="cosine", milestones=(3,))
    with pytest.raises(ValidationError, match="warmup_epochs must be < epochs = 5"):
        TrainingSpec(epochs=5, warmup_epochs=5)
    with pytest.raises(ValidationError, match="label_smoothing"):
        TrainingSpec(label_smoothing=1.0)


def test_every_option_on_is_still_bit_identical(vision_root):
    def run():
        torch.use_deterministic_algorithms(True)
        data = load_splits(DatasetSpec(name="cifar10", root=str(vision_root), augment=True, label_noise=0.1), 0)
        torch.manual_seed(0)
        model = build_model("mlp", MLPParams(depth=1, width=32, dropout=0.1), data.input_shape, 10)
        spec = TrainingSpec(epochs=8, batch_size=32, lr=0.05, nesterov=True, weight_decay=1e-4, schedule="cosine",
                            warmup_epochs=1, label_smoothing=0.1, grad_clip=1.0, early_stopping_patience=2,
                            amp=True, compile=True, checkpoints=(2,))
        return train(model, data, spec, RegulariserSpec(), 0)

    a, b = run(), run()
    def rows(r):
        return [(m.epoch, m.loss, m.accuracy, m.lr, m.restored_from) for m in r.metrics]

    assert rows(a) == rows(b)
    assert a.checkpoints.keys() == b.checkpoints.keys()
    assert all(torch.equal(a.checkpoints[e][k], b.checkpoints[e][k]) for e in a.checkpoints for k in a.checkpoints[e])
    assert (a.best_epoch, a.stopped_epoch, a.notes) == (b.best_epoch, b.stopped_epoch, b.notes)
    assert a.notes[0].startswith("amp ignored") and a.metrics[1].lr == 0.05 > a.metrics[3].lr and 8 in a.checkpoints
