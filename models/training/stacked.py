"""K multilayer perceptrons of one architecture as stacked tensors, rounded as K single networks.

Every weight of ``K`` members is one tensor with a leading member axis (a
fully connected layer's weight has shape ``(K, out, in)``), so that one
batched call does the work of ``K`` small ones. On the CPU each member gets
bit for bit what the single network gets in :func:`models.training.train`:

- every matrix a product reads starts, per member, where a single network's
  would: on a 64-byte boundary (the allocator's), for the stacked weights
  and activations (:func:`aligned_empty`; matrix products can round
  differently for a matrix at another address);
- forward ``baddbmm(bias, x, W^T)`` for ``F.linear`` (``addmm``); backward
  ``bmm(g^T, x)`` for the weight (autograd's ``mm(g^T, x)``; ``bmm(x^T, g)^T``,
  what autograd would do for ``baddbmm``, rounds differently for some
  shapes), ``bmm(g, W)`` for the input, ``g.sum(1)`` for the bias. Each is
  checked against the single network's call on random values, once per
  shape, layout and thread count; where they differ (tiny products take
  another kernel, several threads split work differently) the single call
  is made member by member;
- the loss is composed as ``F.cross_entropy`` composes it (checked likewise);
- element-wise activations act on the stacked tensors: ``relu``, ``tanh``,
  ``gelu``, whose CPU kernels round alike in their vectorised body and their
  scalar tail; not ``sigmoid``, whose rounding would depend on an element's
  position in the stack.

The optimiser step is :mod:`models.training.stacked_sgd`'s, the per-epoch
evaluation :mod:`models.training.stacked_eval`'s.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn import functional as F

from models.architectures import Network

__all__ = ["ALIGN", "EXACT_ACTIVATIONS", "StackedMLP", "aligned_stack", "cross_entropy"]

#: Element-wise activations whose CPU kernels round every element alike (vectorised body and scalar tail).
EXACT_ACTIVATIONS: tuple[type[nn.Module], ...] = (nn.ReLU, nn.Tanh, nn.GELU, nn.Identity)


ALIGN = 64  # bytes: where the CPU allocator puts every fresh tensor


def aligned_empty(shape: tuple[int, ...], dtype: torch.dtype, device: torch.device) -> torch.Tensor:
    """An uninitialised tensor of ``shape = (K, *rest)`` whose members each start on a 64-byte boundary.

    A single network's matrices are fresh tensors, so 64-byte aligned, and
    the CPU's matrix products can round differently for a matrix that is
    not; the members of a dense stack start ``prod(rest)`` elements apart.
    Here the member stride is padded to a multiple of 64 bytes (each member
    is contiguous).
    """
    per = ALIGN // torch.empty((), dtype=dtype).element_size()
    numel = math.prod(shape[1:])
    stride = -(-numel // per) * per
    return torch.empty(shape[0], stride, dtype=dtype, device=device).narrow(1, 0, numel).view(shape)


def aligned_stack(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """``torch.stack(tensors)`` laid out by :func:`aligned_empty`."""
    out = aligned_empty((len(tensors), *tensors[0].shape), tensors[0].dtype, tensors[0].device)
    for k, t in enumerate(tensors):
        out[k].copy_(t)
    return out


def _aligned(t: torch.Tensor) -> torch.Tensor:
    """``t`` of shape (K, ...) itself when its members are contiguous and 64-byte aligned, else such a copy.

    An expanded ``t`` (member stride 0: one matrix for all members, e.g. the
    evaluation inputs) is used where it is, as a single network would use it.
    """
    if t.stride(0) == 0 or (t.stride(0) * t.element_size() % ALIGN == 0 and t.data_ptr() % ALIGN == 0
                            and t[0].is_contiguous()):
        return t
    return aligned_empty(tuple(t.shape), t.dtype, t.device).copy_(t)


#: What a batched call computes, and the single network's call it must equal member by member.
_ROLES: dict[str, tuple[Callable[..., torch.Tensor], Callable[..., torch.Tensor]]] = {
    "forward": (lambda x, w, b: torch.baddbmm(b.unsqueeze(1), x, w.transpose(1, 2)), F.linear),
    "grad_input": (torch.bmm, torch.mm),                                   # g @ W
    "grad_weight": (lambda g, x: torch.bmm(g.transpose(1, 2), x), lambda g, x: g.t().mm(x)),  # g^T @ x
    "grad_bias": (lambda g: g.sum(1), lambda g: g.sum(0)),
}
_AGREES: dict[tuple, bool] = {}
#: Results compared before a batched call is trusted: two formulations that sum in different orders
#: disagree on about 1 % of random results, so a miss is practically impossible.
PROBE_ELEMENTS = 1 << 16


def _agrees(key: tuple, trial: Callable[[torch.Generator], tuple[torch.Tensor, torch.Tensor]]) -> bool:
    """Whether ``trial(generator) -> (batched, single)`` gives equal tensors on fresh random values every
    time, until :data:`PROBE_ELEMENTS` results are compared (at least twice); cached under ``key``."""
    if key not in _AGREES:
        g, compared, trials = torch.Generator().manual_seed(0), 0, 0
        while trials < 2 or compared < PROBE_ELEMENTS:
            batched, single = trial(g)
            if not torch.equal(batched, single):
                break
            compared, trials = compared + batched.numel(), trials + 1
        else:
            _AGREES[key] = True
        _AGREES.setdefault(key, False)
    return _AGREES[key]


def _like(a: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    """Random values laid out as ``a``: same shape, strides and address modulo 64 bytes."""
    span = 1 + sum((n - 1) * st for n, st in zip(a.shape, a.stride()))
    offset = a.data_ptr() % ALIGN // a.element_size()
    base = torch.randn(offset + span, generator=g, dtype=a.dtype).to(a.device)
    return base.as_strided(a.shape, a.stride(), offset)


def _call(role: str, *args: torch.Tensor) -> torch.Tensor:
    """The batched call of ``role`` on member-stacked ``args`` where it rounds as the single network's call
    member by member, else that call member by member.

    Whether it does is found once per role, shapes, layouts (strides and
    addresses modulo 64 bytes), thread count and device, on random values.
    """
    batched, member = _ROLES[role]
    key = (role, torch.get_num_threads(), args[0].device.type,
           *((tuple(a.shape), a.stride(), a.data_ptr() % ALIGN) for a in args))

    def trial(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        probe = [_like(a, g) for a in args]
        return batched(*probe), torch.stack([member(*(p[k] for p in probe)) for k in range(len(probe[0]))])

    if _agrees(key, trial):
        return batched(*args)
    return torch.stack([member(*(a[k] for a in args)) for k in range(len(args[0]))])


class _StackedLinear(torch.autograd.Function):
    """``y[k] = x[k] @ weight[k]^T + bias[k]`` for every member ``k``, with the backward of ``F.linear``."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        x, weight = _aligned(x), _aligned(weight)
        ctx.save_for_backward(x, weight)
        return _call("forward", x, weight, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        grad = _aligned(grad)
        grad_x = _call("grad_input", grad, weight) if ctx.needs_input_grad[0] else None
        return grad_x, _call("grad_weight", grad, x), _call("grad_bias", grad)


def cross_entropy(logits: torch.Tensor, y: torch.Tensor, smoothing: float) -> torch.Tensor:
    """Sum over members of each member's mean cross-entropy, with the gradients of ``F.cross_entropy``.

    Parameters
    ----------
    logits : Tensor of shape (K, b, n_classes)
    y : Tensor of shape (K, b)
    smoothing : float
        Label smoothing, composed as ``F.cross_entropy`` composes it, so that
        each member's logits receive the single network's gradient; where a
        probe finds otherwise, ``F.cross_entropy`` is summed member by member.
    """
    k, b, c = logits.shape

    def trial(g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        probe = torch.randn(k, b, c, generator=g).to(logits.device).requires_grad_()
        labels = torch.randint(0, c, (k, b), generator=g).to(logits.device)
        single = [p.detach().clone().requires_grad_() for p in probe]
        _batched_cross_entropy(probe, labels, smoothing).backward()
        for p, t in zip(single, labels):
            F.cross_entropy(p, t, label_smoothing=smoothing).backward()
        return probe.grad, torch.stack([p.grad for p in single])

    if _agrees(("loss", k, b, c, smoothing, torch.get_num_threads(), logits.device.type), trial):
        return _batched_cross_entropy(logits, y, smoothing)
    return sum(F.cross_entropy(logits[j], y[j], label_smoothing=smoothing) for j in range(k))


def _batched_cross_entropy(logits: torch.Tensor, y: torch.Tensor, smoothing: float) -> torch.Tensor:
    k, b, c = logits.shape
    logp = F.log_softmax(logits, -1).reshape(k * b, c)
    loss = F.nll_loss(logp, y.reshape(-1), reduction="sum") / b
    if smoothing == 0:
        return loss
    return (1 - smoothing) * loss + ((-logp.sum(-1)).sum() / b) * (smoothing / c)


class StackedMLP:
    """The members' weights stacked; each member's parameters become views of the stacks.

    Parameters
    ----------
    members : sequence of Network
        ``K`` networks of one architecture, every block a plain :class:`Block`
        with an ``nn.Linear`` layer and element-wise ``post`` modules
        (checked by :func:`models.training.ensemble.ensemble_compatible`).
        They are trained in place: their parameters' ``data`` point into the
        stacks until :meth:`release`.

    Attributes
    ----------
    params : dict[str, Tensor]
        State-dict key -> stacked leaf tensor of shape ``(K_active, *shape)``.
    active : list of int
        Indices into ``members`` of the members in the stacks, in stack order.
    """

    def __init__(self, members: Sequence[Network]):
        self.members = list(members)
        first = self.members[0]
        self.blocks: list[tuple[str, bool, nn.Module]] = [
            (name, block.flatten_input, block.post) for name, block in first.blocks.items()]
        self.keys = [k for k, _ in first.named_parameters()]
        self.active = list(range(len(self.members)))
        self.params: dict[str, torch.Tensor] = {}
        with torch.no_grad():
            for key in self.keys:
                stack = aligned_stack([dict(m.named_parameters())[key] for m in self.members])
                self.params[key] = stack.requires_grad_()
        self._point_members()

    def _point_members(self) -> None:
        for j, k in enumerate(self.active):
            for key, p in self.members[k].named_parameters():
                p.data = self.params[key].data[j]

    def forward(self, x: torch.Tensor, params: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Logits of every active member, or of the members whose stacked ``params`` are given.

        Parameters
        ----------
        x : Tensor of shape (K, b, *input_shape)
            Member ``j``'s batch is ``x[j]``; an expanded view (one batch for
            all) is read in place.
        params : dict[str, Tensor], optional
            Stacked parameters of some members (laid out by :func:`aligned_stack`);
            default :attr:`params`.

        Returns
        -------
        Tensor of shape (K, b, n_classes)
        """
        params = self.params if params is None else params
        for name, flatten, post in self.blocks:
            if flatten:
                x = x.flatten(2)
            pre = _StackedLinear.apply(x, params[f"blocks.{name}.layer.weight"], params[f"blocks.{name}.layer.bias"])
            x = post(pre)
        return x

    def zero_grad(self) -> None:
        for p in self.params.values():
            p.grad = None

    def release(self, members: Sequence[int]) -> list[int]:
        """Take ``members`` (indices into :attr:`members`) out of the stacks.

        Their parameters get storage of their own (with the weights they
        have now); the remaining members are restacked.

        Returns
        -------
        list of int
            Positions, in the old stack order, of the members that remain
            (for :meth:`StackedSGD.keep`).
        """
        gone = set(members)
        for k in members:
            for p in self.members[k].parameters():
                p.data = p.data.clone()
        keep = [j for j, k in enumerate(self.active) if k not in gone]
        self.active = [self.active[j] for j in keep]
        if self.active:
            with torch.no_grad():
                self.params = {key: aligned_stack([p[j] for j in keep]).requires_grad_()
                               for key, p in self.params.items()}
            self._point_members()
        return keep

