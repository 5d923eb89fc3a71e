"""Image data sets: read from files in their real formats, official test split, normalisation, augmentation."""

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from models.augment import BatchAugment
from models.data import DatasetSpec, load_splits
from models.vision import MEAN_STD, read_cifar_batch, read_idx, read_svhn
from tests.models.vision_files import N_TEST_PER_CLASS, N_TRAIN_PER_CLASS, images, write_mnist

VISION = ["mnist", "fashion_mnist", "cifar10", "svhn"]
SHAPE = {"mnist": (1, 28, 28), "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32), "svhn": (3, 32, 32)}


def _pixels(name: str, x: torch.Tensor) -> np.ndarray:
    """Undo the standardisation: uint8 pixel values."""
    mean, std = (np.asarray(v, np.float32).reshape(1, -1, 1, 1) for v in MEAN_STD[name])
    return np.rint((x.numpy() * std + mean) * 255).astype(np.int64)


@pytest.mark.parametrize("name", VISION)
def test_official_test_set_is_the_test_split_and_pixels_are_exact(name, vision_root):
    d = load_splits(DatasetSpec(name=name, root=str(vision_root), val_fraction=0.1), seed=0)
    c, h, _ = SHAPE[name]
    assert d.input_shape == SHAPE[name] and d.n_classes == 10
    x_test, y_test = images(10 * N_TEST_PER_CLASS, c, h, "test")
    assert np.array_equal(_pixels(name, d.x["test"]), x_test)  # channel order, orientation, file order
    assert np.array_equal(d.y["test"].numpy(), y_test)  # SVHN's label 10 is digit 0
    x_train, y_train = images(10 * N_TRAIN_PER_CLASS, c, h, "train")
    assert len(d.x["train"]) == 9 * N_TRAIN_PER_CLASS and len(d.x["val"]) == N_TRAIN_PER_CLASS
    assert np.bincount(d.y["val"].numpy()).tolist() == [N_TRAIN_PER_CLASS // 10] * 10  # stratified
    seen = np.concatenate([_pixels(name, d.x["train"]), _pixels(name, d.x["val"])])
    assert sorted(map(bytes, seen.astype(np.uint8))) == sorted(map(bytes, x_train))  # train + val = official train
    mean = np.asarray(MEAN_STD[name][0], np.float32)[:, None, None]
    std = np.asarray(MEAN_STD[name][1], np.float32)[:, None, None]
    assert torch.allclose(d.x["test"][0], torch.from_numpy((x_test[0] / np.float32(255) - mean) / std))


def test_val_split_follows_split_seed_only(vision_root):
    spec = DatasetSpec(name="cifar10", root=str(vision_root))
    a, b = load_splits(spec, seed=0), load_splits(spec, seed=5)
    c = load_splits(DatasetSpec(name="cifar10", root=str(vision_root), split_seed=1), seed=0)
    assert torch.equal(a.x["val"], b.x["val"]) and not torch.equal(a.x["val"], c.x["val"])
    assert torch.equal(a.x["test"], c.x["test"])


def test_readers_agree_with_torchvision(vision_root, monkeypatch):
    tvd = pytest.importorskip("torchvision.datasets")
    import torchvision.datasets.cifar as tv_cifar

    raw = vision_root / "MNIST" / "raw"
    for train, prefix in ((True, "train"), (False, "t10k")):
        ref = tvd.MNIST(str(vision_root), train=train)
        assert np.array_equal(read_idx(raw / f"{prefix}-images-idx3-ubyte"), ref.data.numpy())
        assert np.array_equal(read_idx(raw / f"{prefix}-labels-idx1-ubyte"), ref.targets.numpy())
    # torchvision checks the MD5 of the published CIFAR-10 and SVHN files; these files are not those
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda *a, **k: True)
    monkeypatch.setattr(tvd.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tvd.SVHN, "_check_integrity", lambda self: True)
    ref = tvd.CIFAR10(str(vision_root), train=False)
    x, y = read_cifar_batch(vision_root / "cifar-10-batches-py" / "test_batch")
    assert np.array_equal(x.transpose(0, 2, 3, 1), ref.data) and y.tolist() == ref.targets
    ref = tvd.SVHN(str(vision_root), split="test")
    x, y = read_svhn(vision_root / "test_32x32.mat")
    assert np.array_equal(x, ref.data) and np.array_equal(y, ref.labels)


def test_gzipped_mnist_files_are_read(tmp_path, vision_root):
    write_mnist(tmp_path, "MNIST", compress=True)
    assert not (tmp_path / "MNIST" / "raw" / "train-images-idx3-ubyte").exists()
    a = load_splits(DatasetSpec(name="mnist", root=str(tmp_path)), seed=0)
    b = load_splits(DatasetSpec(name="mnist", root=str(vision_root)), seed=0)
    assert all(torch.equal(a.x[s], b.x[s]) for s in a.x)


@pytest.mark.parametrize("name, files, command", [
    ("mnist", "MNIST/raw/train-images-idx3-ubyte", "torchvision.datasets.MNIST('{root}', download=True)"),
    ("fashion_mnist", "FashionMNIST/raw/t10k-labels-idx1-ubyte",
     "torchvision.datasets.FashionMNIST('{root}', download=True)"),
    ("cifar10", "cifar-10-batches-py/data_batch_5, cifar-10-batches-py/test_batch",
     "torchvision.datasets.CIFAR10('{root}', download=True)"),
    ("svhn", "train_32x32.mat, test_32x32.mat", "torchvision.datasets.SVHN('{root}', split=s, download=True)"),
])
def test_missing_files_name_them_and_the_fetch_command(tmp_path, name, files, command):
    root = str(tmp_path / "nowhere")
    with pytest.raises(FileNotFoundError) as e:
        load_splits(DatasetSpec(name=name, root=root), seed=0)
    assert files in str(e.value) and command.format(root=root) in str(e.value)
    assert 'python -c "import torchvision; ' in str(e.value) and "download = true" in str(e.value)


def test_a_malformed_file_is_an_error(tmp_path):
    write_mnist(tmp_path)
    (tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 20)
    with pytest.raises(ValueError, match="header says shape"):
        load_splits(DatasetSpec(name="mnist", root=str(tmp_path)), seed=0)


def test_spec_errors_name_the_key():
    with pytest.raises(ValidationError, match=r"root\n.*root is required for 'cifar10': the folder that holds cifar"):
        DatasetSpec(name="cifar10")
    with pytest.raises(ValidationError, match="'digits' is not read from files; remove root"):
        DatasetSpec(name="digits", root="data")
    with pytest.raises(ValidationError, match="download\n.*never downloaded"):
        DatasetSpec(name="digits", download=True)
    with pytest.raises(ValidationError, match="augment\n.*'mnist1d' has no augmentation.*cifar10, fashion_mnist"):
        DatasetSpec(name="mnist1d", augment=True)
    with pytest.raises(ValidationError, match="test_fraction does not apply to 'svhn'"):
        DatasetSpec(name="svhn", root="data", test_fraction=0.2)


def test_new_keys_at_their_defaults_leave_the_canonical_form_unchanged():
    assert DatasetSpec(name="digits").model_dump(mode="json", exclude_defaults=True) == {"name": "digits"}


def test_augmentation_is_a_padded_random_crop_with_flips():
    aug = BatchAugment(pad=4, flip=True, fill=(-1.0, -2.0))
    x = torch.randn(64, 2, 6, 5)
    out = aug(x, torch.Generator().manual_seed(3))
    again = aug(x, torch.Generator().manual_seed(3))
    assert out.shape == x.shape and torch.equal(out, again)
    padded = torch.cat([torch.full((64, 1, 14, 13), -1.0), torch.full((64, 1, 14, 13), -2.0)], 1)
    padded[:, :, 4:10, 4:9] = x
    offsets, flips = set(), 0
    for k in range(64):  # every output is a window of the padded image, mirrored or not
        windows = [(i, j, padded[k, :, i:i + 6, j:j + 5]) for i in range(9) for j in range(9)]
        hits = [(i, j, f) for i, j, win in windows for f in (False, True)
                if torch.equal(out[k], win.flip(-1) if f else win)]
        assert hits, k
        offsets.add(hits[0][:2])
        flips += hits[0][2]
    assert len(offsets) > 20 and 16 < flips < 48
    crop = BatchAugment(pad=1, flip=False, fill=(0.5,))(torch.zeros(200, 1, 3, 3), torch.Generator().manual_seed(0))
    assert set(crop.unique().tolist()) == {0.0, 0.5}
    assert torch.equal(crop[:, :, 1, 1], torch.zeros(200, 1))  # a shift by at most 1 keeps the centre inside


def test_augment_flag_picks_the_data_set_augmentation(vision_root):
    cifar = load_splits(DatasetSpec(name="cifar10", root=str(vision_root), augment=True), seed=0)
    svhn = load_splits(DatasetSpec(name="svhn", root=str(vision_root), augment=True), seed=0)
    mnist = load_splits(DatasetSpec(name="mnist", root=str(vision_root), augment=True), seed=0)
    assert cifar.augment.flip and not svhn.augment.flip and not mnist.augment.flip
    assert cifar.augment.pad == svhn.augment.pad == mnist.augment.pad == 4
    black = torch.zeros(1, 3, 1, 1)  # padding is a black pixel after standardisation
    mean, std = (torch.tensor(v).reshape(1, 3, 1, 1) for v in MEAN_STD["cifar10"])
    assert torch.allclose(torch.tensor(cifar.augment.fill).reshape(1, 3, 1, 1), (black - mean) / std)
    assert load_splits(DatasetSpec(name="cifar10", root=str(vision_root)), seed=0).augment is None
