"""``torch.optim.SGD`` on member-stacked parameters (see :mod:`models.training.stacked`).

The update mirrors torch's single-tensor SGD (what it runs on the CPU) op
for op. A hyperparameter shared by all members is passed as torch passes it
(a Python float); one that differs between members becomes a float32 tensor
of shape ``(K, 1, ..., 1)``, and ``a.addcmul(b, s)`` rounds as
``a.add(b, alpha=s)`` (both one fused multiply-add per element; checked in
the tests). Where a term is skipped for some members only (zero weight decay
or momentum), ``torch.where`` keeps their values untouched, as torch does.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from models.training.spec import TrainingSpec

__all__ = ["StackedSGD"]


def _per_member(values: Sequence[float], like: torch.Tensor) -> float | torch.Tensor:
    """One float when every member has the same value, else a float32 tensor of shape (K, 1, ..., 1)."""
    if all(v == values[0] for v in values):
        return values[0]
    return torch.tensor(values, dtype=like.dtype, device=like.device).view(-1, *[1] * (like.dim() - 1))


def _axpy(a: torch.Tensor, b: torch.Tensor, alpha: float | torch.Tensor, inplace: bool = False) -> torch.Tensor:
    """``a + alpha[k] * b`` per member, rounded as ``a.add(b, alpha=alpha[k])``."""
    if isinstance(alpha, torch.Tensor):
        return a.addcmul_(b, alpha) if inplace else a.addcmul(b, alpha)
    return a.add_(b, alpha=alpha) if inplace else a.add(b, alpha=alpha)


class StackedSGD:
    """``torch.optim.SGD`` (single-tensor, no dampening) on stacked parameters, with per-member hyperparameters.

    Parameters
    ----------
    specs : sequence of TrainingSpec
        One per member (stack order); ``momentum`` and ``weight_decay`` may
        differ between members, ``nesterov`` may not.
    """

    def __init__(self, specs: Sequence[TrainingSpec]):
        self.momentum = [s.momentum for s in specs]
        self.weight_decay = [s.weight_decay for s in specs]
        self.nesterov = specs[0].nesterov
        self.buffers: dict[str, torch.Tensor] = {}

    def keep(self, positions: Sequence[int]) -> None:
        """Keep the members at ``positions`` (old stack order), as :meth:`StackedMLP.release` returned."""
        self.momentum = [self.momentum[j] for j in positions]
        self.weight_decay = [self.weight_decay[j] for j in positions]
        if self.buffers and positions:
            index = torch.tensor(list(positions), device=next(iter(self.buffers.values())).device)
            self.buffers = {k: b.index_select(0, index) for k, b in self.buffers.items()}

    @torch.no_grad()
    def step(self, params: dict[str, torch.Tensor], lrs: Sequence[float]) -> None:
        """Update every stacked parameter in place from its ``grad``, member ``j`` at learning rate ``lrs[j]``."""
        for key, param in params.items():
            grad = param.grad
            if any(self.weight_decay):
                decayed = _axpy(grad, param, _per_member(self.weight_decay, param))
                grad = decayed if all(self.weight_decay) else torch.where(
                    self._mask(self.weight_decay, param), decayed, grad)
            if any(self.momentum):
                buf = self.buffers.get(key)
                if buf is None:
                    buf = self.buffers[key] = grad.detach().clone()
                else:
                    buf.mul_(_per_member(self.momentum, param)).add_(grad)
                if self.nesterov:
                    grad = _axpy(grad, buf, _per_member(self.momentum, param))
                elif all(self.momentum):
                    grad = buf
                else:
                    grad = torch.where(self._mask(self.momentum, param), buf, grad)
            _axpy(param, grad, _per_member([-lr for lr in lrs], param), inplace=True)

    @staticmethod
    def _mask(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
        """Members whose ``values`` are non-zero, shape (K, 1, ..., 1)."""
        return torch.tensor([v != 0 for v in values], device=like.device).view(-1, *[1] * (like.dim() - 1))
