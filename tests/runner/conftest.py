"""Fixtures for the runner tests: small manifests written to temporary files."""

import textwrap

import pytest

BASE = """
[experiment]
name = "t"
seeds = [0, 1]

[dataset]
name = "digits"

[model]
name = "mlp"
depth = 1
width = 16

[training]
epochs = 3
batch_size = 64
checkpoints = [1]

[measurement]
train_samples = 200
test_samples = 100

[[measures]]
name = "weight_spectrum"

[[measures]]
name = "neural_collapse"

[sweep]
grid = { "model.depth" = [1, 2] }
"""


@pytest.fixture
def write(tmp_path):
    """Write a manifest (dedented) and return its path."""

    def _write(text: str, name: str = "m.toml"):
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return path

    return _write
