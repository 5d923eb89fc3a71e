"""Population training on the CPU: K MLPs trained one after the other with ``train()`` vs together with
``train_ensemble()``.

Members differ in seed (initialisation, batch order); the data is digits
(1259 training examples), the training setup the quickstart's (SGD, lr 0.1,
momentum 0.9, batch 32) for a few epochs. Torch runs on one thread. For each
width and each K, prints one JSON line: wall seconds and CPU seconds
(``time.process_time``) of both paths, the best of ``--repeats``, the
speed-up in CPU seconds, and whether every member's metrics and final
weights were bit-identical.

The speed-up is largest where a single network's step is dominated by the
cost of calling ops rather than by arithmetic (narrow layers, small
batches); for wide layers both paths do the same arithmetic and the
ensemble gains little more than the call overhead.

Usage: ``python bench/population.py [--ks 1 8 32] [--widths 64 256] [--epochs 3]``
(from the repository root).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from models.architectures import MLPParams, build_model
from models.data import DatasetSpec, load_splits
from models.training import RegulariserSpec, TrainingSpec, train
from models.training.ensemble import train_ensemble


def _members(k: int, params: MLPParams):
    """K freshly initialised members, each seeded and with its data as a worker builds them."""
    out = []
    for seed in range(k):
        data = load_splits(DatasetSpec(name="digits"), seed)
        torch.manual_seed(seed)
        out.append((build_model("mlp", params, data.input_shape, data.n_classes), data, seed))
    return out


def _timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    result = fn()
    return result, time.perf_counter() - wall, time.process_time() - cpu


def _identical(alone, together, members_a, members_b) -> bool:
    for a, b, (ma, _, _), (mb, _, _) in zip(alone, together, members_a, members_b):
        if a.metrics != b.metrics or a.checkpoints.keys() != b.checkpoints.keys():
            return False
        sa, sb = ma.state_dict(), mb.state_dict()
        if not all(torch.equal(v, sb[n]) for n, v in sa.items()):
            return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 8, 32])
    parser.add_argument("--widths", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    spec = TrainingSpec(lr=0.1, momentum=0.9, batch_size=args.batch_size, epochs=args.epochs)
    none = RegulariserSpec()
    warm = _members(1, MLPParams(depth=args.depth, width=8))[0]
    train(warm[0], warm[1], TrainingSpec(epochs=1), none, 0)  # torch's first-call costs, outside the timings

    for width in args.widths:
        params = MLPParams(depth=args.depth, width=width)
        for k in args.ks:
            best: dict[str, tuple[float, float]] = {}
            identical = True
            for _ in range(args.repeats):
                alone_m, together_m = _members(k, params), _members(k, params)
                alone, wall_s, cpu_s = _timed(lambda a=alone_m: [train(m, d, spec, none, s) for m, d, s in a])
                together, wall_e, cpu_e = _timed(lambda t=together_m: train_ensemble(
                    [m for m, _, _ in t], [d for _, d, _ in t], spec, none, [s for _, _, s in t]))
                identical &= _identical(alone, together, alone_m, together_m)
                for name, (w, c) in {"sequential": (wall_s, cpu_s), "ensemble": (wall_e, cpu_e)}.items():
                    best[name] = min(best.get(name, (w, c)), (w, c), key=lambda t: t[1])
            print(json.dumps({
                "bench": "population", "K": k, "depth": args.depth, "width": width, "batch_size": args.batch_size,
                "epochs": args.epochs, "dataset": "digits",
                "sequential_wall_s": round(best["sequential"][0], 3), "sequential_cpu_s": round(best["sequential"][1], 3),
                "ensemble_wall_s": round(best["ensemble"][0], 3), "ensemble_cpu_s": round(best["ensemble"][1], 3),
                "speedup_cpu": round(best["sequential"][1] / best["ensemble"][1], 2),
                "speedup_wall": round(best["sequential"][0] / best["ensemble"][0], 2),
                "bit_identical": identical, "threads": torch.get_num_threads(), "torch": torch.__version__,
                "machine": platform.machine(),
            }), flush=True)


if __name__ == "__main__":
    main()
