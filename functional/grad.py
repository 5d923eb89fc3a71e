"""``no_grad``: :func:`torch.no_grad` as a decorator that imports torch when the function is called.

Modules that decorate functions with it stay free of torch at import time (a
manifest is read, and a plan made, without importing torch).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

F = TypeVar("F", bound=Callable)


def no_grad(fn: F) -> F:
    """Run ``fn`` under ``torch.no_grad()``, as ``@torch.no_grad()`` does."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        import torch

        with torch.no_grad():
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
