"""Test-only measures that fail on purpose (registered on import, also inside worker processes)."""

import os

from core.catalog import Statistic
from measures.registry import MeasureParams, MeasureResult, register_measure


class FaultParams(MeasureParams):
    """``mode``: "raise" or "crash" (kill the worker process) on networks of depth 2."""

    mode: str = "raise"


@register_measure(providers=("model",), params=FaultParams, version=1, paper="-", statistics=(Statistic("depth"),))
def faulty(params: FaultParams, *, model) -> MeasureResult:
    """Fails on networks with two hidden layers; returns the depth otherwise."""
    depth = len(model.weight_layers()) - 1
    if depth == 2:
        if params.mode == "crash":
            os._exit(3)
        raise ValueError("faulty measure: depth 2")
    return MeasureResult(rows=[("all", "depth", depth)])
