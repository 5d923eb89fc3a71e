"""Data augmentation as a seeded transform of a batch of tensors.

The training loop takes whole-split tensors, not a ``DataLoader``, so
augmentation is a function of a mini-batch and a ``torch.Generator``: the
training loop applies it to every training batch (never to val or test, never
to the measurement sample) with a generator seeded from the run's seed, so a
run stays bit-identical on the CPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class BatchAugment:
    """Random crop with padding and optional horizontal flip, per example.

    The same transform as torchvision's ``RandomCrop(size, padding=pad)``
    followed by ``RandomHorizontalFlip()`` on un-normalised images: each image
    is padded by ``pad`` pixels of value ``fill`` (per channel; the normalised
    value of a black pixel, so that padding is black as in torchvision), a
    window of the original size is cut at a uniformly random offset in
    ``[0, 2 * pad]`` on each axis, and with ``flip`` the window is mirrored
    left-right with probability 1/2.

    Attributes
    ----------
    pad : int
    flip : bool
    fill : tuple of float
        One value per channel.
    """

    pad: int = 4
    flip: bool = True
    fill: tuple[float, ...] = (0.0,)

    def __call__(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Augment a batch.

        Parameters
        ----------
        x : Tensor of shape (batch, channels, height, width), on the CPU
        generator : torch.Generator
            Draws, in this order, the row offsets, the column offsets and (with
            ``flip``) the flips of the batch.

        Returns
        -------
        Tensor of the shape of ``x``
        """
        import torch

        n, c, h, w = x.shape
        p = self.pad
        fill = torch.tensor(self.fill, dtype=x.dtype).expand(c)  # one value, or one per channel
        padded = fill.reshape(1, c, 1, 1).repeat(n, 1, h + 2 * p, w + 2 * p)
        padded[:, :, p:p + h, p:p + w] = x
        top = torch.randint(0, 2 * p + 1, (n,), generator=generator)
        left = torch.randint(0, 2 * p + 1, (n,), generator=generator)
        rows = (top[:, None] + torch.arange(h))[:, None, :, None]  # (n, 1, h, 1)
        cols = (left[:, None] + torch.arange(w))[:, None, None, :]  # (n, 1, 1, w)
        out = padded[torch.arange(n)[:, None, None, None], torch.arange(c)[None, :, None, None], rows, cols]
        if self.flip:
            mirrored = torch.rand(n, generator=generator) < 0.5
            out = torch.where(mirrored[:, None, None, None], out.flip(-1), out)
        return out
