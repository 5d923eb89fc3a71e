"""Cost per training step of the correlation regularisers on the CPU.

Times one forward and backward pass of ``topological_t1``, ``topological_t2``
and ``decorrelation`` (``fraction = 1``) on random activations of a batch of
128 examples: one ReLU hidden layer of ``n - 10`` neurons plus 10 logits, so
``n`` neurons enter the correlation distance. Also times the two parts of the
topological terms: the correlation distance (forward + backward) and the
minimum spanning tree (numpy Prim, no autograd). Torch runs on one thread.

Prints one JSON line; times in milliseconds, median over repeats.

Usage: ``python bench/regularisers.py [--sizes 128 512 2048] [--batch 128]``
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

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from functional.correlation.tensors import correlation_distance  # noqa: E402
from functional.persistence.h0 import mst_edges  # noqa: E402
from models.regularisers import get_regulariser  # noqa: E402

NAMES = ("topological_t1", "topological_t2", "decorrelation")
N_CLASSES = 10


def _activations(batch: int, n: int, seed: int) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    hidden = torch.randn(batch, n - N_CLASSES, generator=g).relu()
    logits = torch.randn(batch, N_CLASSES, generator=g)
    return {"fc1": hidden.requires_grad_(), "output": logits.requires_grad_()}


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return round(statistics.median(times), 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[128, 512, 2048])
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args()
    torch.set_num_threads(1)

    results: dict[str, dict[str, float]] = {name: {} for name in NAMES}
    parts: dict[str, dict[str, float]] = {"correlation_distance_fwd_bwd": {}, "mst_numpy_prim": {}}
    repeats = {}
    for n in args.sizes:
        acts = _activations(args.batch, n, seed=n)
        reps = 31 if n <= 256 else 15 if n <= 1024 else 7
        repeats[str(n)] = reps
        for name in NAMES:
            spec = get_regulariser(name)
            params = spec.params()

            def step():
                for a in acts.values():
                    a.grad = None
                spec.fn(params, acts).backward()

            results[name][str(n)] = _median_ms(step, reps)

        X = torch.cat([acts["fc1"], acts["output"]], 1).detach().requires_grad_()

        def dist():
            X.grad = None
            correlation_distance(X).sum().backward()

        D = correlation_distance(X).detach().numpy()
        parts["correlation_distance_fwd_bwd"][str(n)] = _median_ms(dist, reps)
        parts["mst_numpy_prim"][str(n)] = _median_ms(lambda: mst_edges(D), reps)

    print(json.dumps({
        "bench": "regularisers",
        "unit": "ms per training step (forward + backward of the regulariser alone), median",
        "device": "cpu",
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "machine": platform.machine(),
        "batch": args.batch,
        "fraction": 1.0,
        "neurons": args.sizes,
        "repeats": repeats,
        "ms": results,
        "parts_ms": parts,
    }))


if __name__ == "__main__":
    main()
