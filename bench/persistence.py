"""Benchmark of the activation-persistence pipeline: correlation distance, H0, H1.

Prints one JSON line. Synthetic activations (seeded): ReLU of a rank-20 signal
plus noise, S samples by N neurons, with 5% dead, 2% constant non-zero and 2%
duplicated neurons. Point counts leave out zero-length pairs. ``maxrss_mb`` is the process's peak resident memory after
each step (monotone, so it bounds that step's peak).

    python bench/persistence.py [--sizes 300 1000] [--samples 2000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from functional.correlation.arrays import correlation_distance  # noqa: E402
from functional.persistence.h0 import h0_diagram  # noqa: E402
from functional.persistence.rips import rips_h1_diagram  # noqa: E402


def synthetic_activations(S: int, N: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((S, 20)) @ rng.standard_normal((20, N)) + rng.standard_normal((S, N))
    X = np.maximum(X, 0).astype(np.float32)
    cols = rng.permutation(N)
    k = max(1, N // 50)
    X[:, cols[: N // 20]] = 0.0  # dead
    X[:, cols[N // 20: N // 20 + k]] = 0.7  # constant non-zero
    X[:, cols[N // 20 + k: N // 20 + 2 * k]] = X[:, cols[-k:]]  # duplicated
    return X


def _maxrss_mb() -> float:
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024 / (1024 if platform.system() == "Darwin" else 1), 1)


def _timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, round(time.perf_counter() - t, 4)


def _cpu_timed(fn, *args):
    """Wall and CPU seconds: CPU time is robust to other processes on a shared machine."""
    c = time.process_time()
    out, wall = _timed(fn, *args)
    return out, wall, round(time.process_time() - c, 4)


def float32_distance(X: np.ndarray) -> np.ndarray:
    """The float32-Gram variant, for comparison only."""
    Z = X.astype(np.float32) - X.mean(axis=0, dtype=np.float32)
    norms = np.linalg.norm(Z, axis=0)
    norms[norms == 0] = 1
    Z /= norms
    D = 1.0 - np.abs(Z.T @ Z).astype(np.float64)
    np.clip(D, 0, 1, out=D)
    np.fill_diagonal(D, 0)
    return D


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[300, 1000])
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    report: dict = {"bench": "persistence", "samples": args.samples, "seed": args.seed, "results": []}
    correlation_distance(synthetic_activations(args.samples, 50, args.seed))  # warm up BLAS threads
    for N in args.sizes:
        X = synthetic_activations(args.samples, N, args.seed)
        D, t_dist = _timed(correlation_distance, X)
        D32, t_dist32 = _timed(float32_distance, X)
        live = ~np.isin(np.arange(N), np.flatnonzero(X.max(0) == X.min(0)))
        err32 = float(np.abs(D - D32)[np.ix_(live, live)].max())
        h0, t_h0 = _timed(h0_diagram, D)
        rss_h0 = _maxrss_mb()
        h1, t_h1, cpu_h1 = _cpu_timed(rips_h1_diagram, D)
        report["results"].append({
            "neurons": N, "distance_s": t_dist, "distance_float32_s": t_dist32,
            "float32_max_abs_error": err32, "h0_s": t_h0, "h1_s": t_h1, "h1_cpu_s": cpu_h1,
            "h0_points": int((h0[:, 1] > 0).sum() - 1), "h1_points": int(len(h1)),
            "maxrss_mb_after_h0": rss_h0, "maxrss_mb_after_h1": _maxrss_mb(),
        })
    print(json.dumps(report))


if __name__ == "__main__":
    main()
