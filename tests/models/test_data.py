"""Data sets: real digits and MNIST-1D, the stratified split, label noise."""

import numpy as np
import pytest

from models.data import DatasetSpec, corrupt_labels, get_dataset, list_datasets, load_splits, stratified_split


def test_stratified_split_keeps_class_proportions():
    y = np.repeat(np.arange(4), [100, 200, 300, 400])
    train, val, test = stratified_split(y, (0.1, 0.2), seed=3)
    assert len(np.intersect1d(train, test)) == 0 and len(np.intersect1d(val, test)) == 0
    assert len(train) + len(val) + len(test) == len(y)
    for c, n in enumerate([100, 200, 300, 400]):
        assert (y[test] == c).sum() == round(0.2 * n)
        assert (y[val] == c).sum() == round(0.1 * n)
    again = stratified_split(y, (0.1, 0.2), seed=3)
    assert all(np.array_equal(a, b) for a, b in zip((train, val, test), again))


def test_label_noise_flips_exactly_the_fraction_to_other_classes():
    y = np.arange(1000) % 10
    noisy = corrupt_labels(y, 0.25, 10, seed=0)
    assert (noisy != y).sum() == 250
    assert noisy.min() >= 0 and noisy.max() <= 9
    assert not np.array_equal(noisy, corrupt_labels(y, 0.25, 10, seed=1))


@pytest.mark.parametrize("name", list_datasets())
def test_every_dataset_loads_and_splits(name, request):
    info = get_dataset(name)
    root = {}
    if info.needs_task:  # the PGDL fixture: one task of the competition's layout
        root = {"root": str(request.getfixturevalue("pgdl_root")), "task": "task1_v4"}
    elif info.needs_root:
        root = {"root": str(request.getfixturevalue("vision_root"))}
    d = load_splits(DatasetSpec(name=name, label_noise=0.1, **root), seed=0)
    n = {s: len(d.x[s]) for s in d.x}
    assert d.input_shape == info.input_shape
    if info.official_test:  # its own test set; val is 10% of its training set
        assert abs(n["val"] / (n["train"] + n["val"]) - 0.1) < 0.01
    else:
        total = sum(n.values())
        assert abs(n["test"] / total - 0.2) < 0.01 and abs(n["val"] / total - 0.1) < 0.01
    assert d.n_classes == 10
    assert set(np.unique(d.y["test"].numpy())) == set(range(10))
    changed = (d.y["train"] != d.y_train_clean).float().mean().item()
    assert abs(changed - 0.1) < 1e-3
    assert d.x["train"].dtype.is_floating_point


def test_digits_is_the_real_data():
    d = load_splits(DatasetSpec(name="digits", val_fraction=0.1, test_fraction=0.2), seed=0)
    assert sum(len(x) for x in d.x.values()) == 1797
    assert d.input_shape == (1, 8, 8)
    assert float(d.x["train"].max()) == 1.0 and float(d.x["train"].min()) == 0.0


def test_train_subset_and_unknown_name():
    d = load_splits(DatasetSpec(name="digits", train_subset=300), seed=0)
    assert abs(len(d.x["train"]) - 300) <= 10
    with pytest.raises(ValueError, match="did you mean 'digits'"):
        DatasetSpec(name="digit")
