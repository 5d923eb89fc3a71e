"""Per-epoch metrics of member-stacked networks, each what :func:`epoch_metrics` gives the member alone.

A single network is evaluated by :func:`~models.training.metrics.evaluate`:
chunks of 1024 examples of its split tensors, as they are in memory. Members
whose split holds the same values at the same address modulo 64 bytes (a
matrix product can round differently at another address) are evaluated
together on one expanded chunk; per member, the chunk's summed cross-entropy
comes from ``F.nll_loss`` on its log-softmax rows, as inside
``F.cross_entropy``, and is added up chunk by chunk as there.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch.nn import functional as F

from models.data import SPLITS, DataSplits
from models.training.metrics import EpochMetrics
from models.training.stacked import ALIGN, StackedMLP, aligned_stack

__all__ = ["StackedMetrics"]


class StackedMetrics:
    """Evaluates the active members of a :class:`StackedMLP` on every split.

    Parameters
    ----------
    data : sequence of DataSplits
        Member ``k``'s splits (indexed as ``StackedMLP.members``).
    batch_size : int
        Examples per chunk, as :func:`~models.training.metrics.evaluate`'s default.
    budget : int
        Bytes of activations (one layer, one chunk) per evaluated group of members.
    """

    def __init__(self, data: Sequence[DataSplits], batch_size: int = 1024, budget: int = 1 << 22):
        self.data, self.batch_size, self.budget = data, batch_size, budget
        self._same: dict[tuple[str, int, int], bool] = {}

    @torch.no_grad()
    def __call__(self, stack: StackedMLP, epoch: int, lrs: Sequence[float | None]) -> list[EpochMetrics]:
        """Every active member's metrics of ``epoch`` (``lrs``: each one's learning rate), in stack order."""
        widest = max(p.shape[1] for p in stack.params.values())
        most = max(1, self.budget // (4 * self.batch_size * widest))
        loss: list[dict[str, float]] = [{} for _ in stack.active]
        acc: list[dict[str, float]] = [{} for _ in stack.active]
        for split in SPLITS:
            for group in self._groups(stack.active, split, most):
                if group == list(range(group[0], group[-1] + 1)):
                    params = {key: p[group[0]:group[-1] + 1] for key, p in stack.params.items()}
                else:
                    params = {key: aligned_stack([p[j] for j in group]) for key, p in stack.params.items()}
                members = [stack.active[j] for j in group]
                for j, (m_loss, m_acc) in zip(group, self._evaluate(stack, params, members, split)):
                    loss[j][split], acc[j][split] = m_loss, m_acc
        return [EpochMetrics(epoch, loss[j], acc[j], None, lrs[j]) for j in range(len(stack.active))]

    def _groups(self, active: list[int], split: str, most: int) -> list[list[int]]:
        """Stack positions whose members' ``split`` inputs can stand for each other, at most ``most`` per group."""
        groups: list[list[int]] = []
        for j, k in enumerate(active):
            for group in groups:
                if len(group) < most and self._interchangeable(split, active[group[0]], k):
                    group.append(j)
                    break
            else:
                groups.append([j])
        return groups

    def _interchangeable(self, split: str, k0: int, k: int) -> bool:
        """Same values, layout and address modulo 64 bytes of members ``k0``'s and ``k``'s inputs (cached)."""
        key = (split, k0, k)
        if key not in self._same:
            a, b = self.data[k0].x[split], self.data[k].x[split]
            self._same[key] = a is b or (a.shape == b.shape and a.stride() == b.stride() and a.dtype == b.dtype
                                         and a.data_ptr() % ALIGN == b.data_ptr() % ALIGN and torch.equal(a, b))
        return self._same[key]

    def _evaluate(self, stack: StackedMLP, params: dict[str, torch.Tensor], members: list[int], split: str
                  ) -> list[tuple[float, float]]:
        """Mean loss and accuracy of ``members`` (with stacked ``params``) on their ``split``."""
        x = self.data[members[0]].x[split]
        ys = [self.data[k].y[split] for k in members]
        device = next(iter(params.values())).device
        total, correct = [0.0] * len(members), [0] * len(members)
        for i in range(0, len(x), self.batch_size):
            xb = x[i:i + self.batch_size].to(device)
            yb = torch.stack([y[i:i + self.batch_size] for y in ys]).to(device)
            logits = stack.forward(xb.expand(len(members), *xb.shape), params)
            logp = F.log_softmax(logits, -1)
            for j in range(len(members)):
                total[j] += F.nll_loss(logp[j], yb[j], reduction="sum").item()
            for j, c in enumerate((logits.argmax(-1) == yb).sum(1).tolist()):
                correct[j] += c
        if len(x) == 0:
            return [(math.nan, math.nan)] * len(members)
        return [(t / len(x), c / len(x)) for t, c in zip(total, correct)]
