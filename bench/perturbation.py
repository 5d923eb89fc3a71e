"""Cost of the ``perturbation_response`` measure with its default parameters.

The setting of the ``measures_all`` manifest: a digits VGG (one convolution
per block, 32 filters in the last block, one dense layer of 64 units) at its
seeded initialisation, on ``--samples`` uniform random 8x8 inputs with labels
cycling over the 10 classes. Times the measure (inter- and intra-class mixup
curves at every block before the output, 11 magnitudes) ``--repeats`` times.

Prints one JSON line: wall seconds and CPU seconds (``time.process_time``, all
threads of this process) of each repeat side by side, and their medians. CPU
seconds are robust to other processes on a shared machine; wall seconds are
what a run waits.

Usage: ``python bench/perturbation.py [--samples 300] [--repeats 3] [--threads 1]``
(from the repository root).
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from measures.perturbation.measure import PerturbationResponseParams  # noqa: E402
from measures.registry import get_measure  # noqa: E402
from models.architectures import build_model  # noqa: E402

VGG = {"convs_per_block": 1, "last_filters": 32, "dense_layers": 1, "dense_width": 64}


def inputs_and_labels(n: int, seed: int = 0) -> tuple[dict, dict]:
    """``n`` uniform random inputs of shape (1, 8, 8) and labels ``0, 1, ..., 9, 0, ...`` (train split)."""
    g = torch.Generator().manual_seed(seed)
    return {"train": torch.rand(n, 1, 8, 8, generator=g)}, {"train": np.arange(n) % 10}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = build_model("vgg", VGG, (1, 8, 8), 10).eval()
    inputs, labels = inputs_and_labels(args.samples)
    measure, params = get_measure("perturbation_response"), PerturbationResponseParams()
    wall, cpu, n_rows = [], [], 0
    for _ in range(args.repeats):
        c, t = time.process_time(), time.perf_counter()
        result = measure(params, model=model, inputs=inputs, labels=labels)
        wall.append(round(time.perf_counter() - t, 4))
        cpu.append(round(time.process_time() - c, 4))
        n_rows = len(result.rows)
    print(json.dumps({
        "bench": "perturbation", "model": {"name": "vgg", **VGG}, "samples": args.samples,
        "threads": args.threads, "rows": n_rows, "wall_s": wall, "cpu_s": cpu,
        "median_wall_s": statistics.median(wall), "median_cpu_s": statistics.median(cpu),
        "python": platform.python_version(), "torch": torch.__version__,
    }))


if __name__ == "__main__":
    main()
