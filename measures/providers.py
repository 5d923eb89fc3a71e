"""Providers: the inputs measures ask for, computed once per run and checkpoint.

One forward pass over the fixed measurement sample records the activations,
pre-activations and logits that every measure of the checkpoint shares (the
activations of the same examples feed persistence, CDNV, NCC and margins).
Each provider is computed on first use; its cost in seconds is kept in
:attr:`Providers.seconds`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from measures.registry import PROVIDERS, MeasureResult, Measure


def sample_indices(n_available: int, n_wanted: int, seed: int) -> np.ndarray:
    """A seeded random draw of ``min(n_wanted, n_available)`` distinct indices, in random order."""
    rng = np.random.default_rng(seed)
    return rng.permutation(n_available)[: min(n_wanted, n_available)]


def _weights_of(model) -> dict[str, np.ndarray]:
    return {name: layer.weight.detach().double().cpu().numpy().copy()
            for name, layer in model.weight_layers().items()}


#: Providers filled by one recording forward pass over the measurement sample.
RECORDED = ("activations", "preactivations", "logits")
#: Name under which that forward pass is timed (``timings.name`` with phase ``provider``).
FORWARD_PASS = "forward_pass"


class Providers:
    """Lazily computed measure inputs of one network at one checkpoint.

    Parameters
    ----------
    model : Network
        In eval mode (set here), on the CPU.
    data : DataSplits
    train_samples, test_samples : int
        Size of the fixed measurement sample of each split.
    seed : int
        Seed of the sample (the same examples for every run of a data set split).
    batch_size : int
        Batch size of the recording forward pass.
    init_model : Network, optional
        The same network at initialisation, for the ``init_weights`` provider.
    history : dict, optional
        The run's per-epoch metrics, for the ``history`` provider (layout in
        :data:`measures.registry.PROVIDERS`).
    """

    def __init__(self, model, data, train_samples: int, test_samples: int, seed: int, batch_size: int = 512,
                 init_model=None, history: dict | None = None):
        self.model = model.eval()
        self.history = history
        self.init_model = init_model
        self.data = data
        self.index = {"train": sample_indices(len(data.x["train"]), train_samples, seed),
                      "test": sample_indices(len(data.x["test"]), test_samples, seed + 1)}
        self.batch_size = batch_size
        self._cache: dict[str, Any] = {}
        self.seconds: dict[str, float] = {}

    def get(self, name: str) -> Any:
        """The provider ``name`` (one of :data:`measures.registry.PROVIDERS`)."""
        if name not in PROVIDERS:
            raise KeyError(f"unknown provider {name!r}; known: {PROVIDERS}")
        if name not in self._cache:
            start = time.perf_counter()
            if name in RECORDED:
                self._record()
            else:
                self._cache[name] = getattr(self, f"_{name}")()
            self.seconds[FORWARD_PASS if name in RECORDED else name] = time.perf_counter() - start
        return self._cache[name]

    def compute(self, spec: Measure, params) -> MeasureResult:
        """Call ``spec`` with the providers it declares."""
        return spec(params, **{p: self.get(p) for p in spec.providers})

    def _weights(self) -> dict[str, np.ndarray]:
        return _weights_of(self.model)

    def _init_weights(self) -> dict[str, np.ndarray]:
        if self.init_model is None:
            raise ValueError("the init_weights provider needs the network at initialisation (init_model)")
        return _weights_of(self.init_model)

    def _history(self) -> dict:
        if self.history is None:
            raise ValueError("the history provider needs the run's per-epoch metrics")
        return self.history

    def _inputs(self) -> dict:
        return {s: self.data.x[s][torch.from_numpy(i)] for s, i in self.index.items()}

    def _labels(self) -> dict[str, np.ndarray]:
        return {s: self.data.y[s][i].numpy() for s, i in self.index.items()}

    def _model(self):
        return self.model

    def _data(self):
        return self.data

    @torch.no_grad()
    def _record(self) -> None:
        acts: dict[str, dict[str, np.ndarray]] = {}
        pres: dict[str, dict[str, np.ndarray]] = {}
        logits: dict[str, np.ndarray] = {}
        for split, idx in self.index.items():
            x = self.data.x[split][torch.from_numpy(idx)]
            parts: dict[str, dict[str, list]] = {"pre": {}, "post": {}}
            out = []
            for i in range(0, len(x), self.batch_size):
                record: dict = {}
                out.append(self.model(x[i:i + self.batch_size], record=record))
                for kind in ("pre", "post"):
                    for layer, a in record[kind].items():
                        parts[kind].setdefault(layer, []).append(a)
            pres[split] = {k: torch.cat(v).numpy() for k, v in parts["pre"].items()}
            acts[split] = {k: torch.cat(v).numpy() for k, v in parts["post"].items()}
            logits[split] = torch.cat(out).numpy()
        # One forward pass fills all three; its time is booked once, as FORWARD_PASS.
        self._cache.update(activations=acts, preactivations=pres, logits=logits)
