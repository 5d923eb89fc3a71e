"""The ``[sweep]`` section: which dotted keys vary, and how.

Only keys named here are axes: a list that is a value (``training.checkpoints``)
is never mistaken for one. Points are the Cartesian product of ``grid`` and of
each ``zip`` group (whose lists advance together), minus every point that
matches an ``exclude`` entry, plus each ``include`` entry::

    [sweep]
    grid = { "model.depth" = [1, 2, 3], "dataset.label_noise" = [0.0, 0.2] }
    zip = [ { "training.lr" = [0.1, 0.01], "training.batch_size" = [32, 256] } ]
    exclude = [ { "model.depth" = 3, "dataset.label_noise" = 0.2 } ]
    include = [ { "model.depth" = 8 } ]
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runner.errors import Problem, suggest
from runner.positions import Path

SWEEPABLE = ("dataset", "model", "training", "regulariser")


class SweepSpec(BaseModel):
    """``[sweep]``: grid axes, zipped groups, include and exclude lists (keys are dotted paths)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    grid: dict[str, list[Any]] = Field(default_factory=dict)
    zip: list[dict[str, list[Any]]] = Field(default_factory=list)
    include: list[dict[str, Any]] = Field(default_factory=list)
    exclude: list[dict[str, Any]] = Field(default_factory=list)


def _sweep_path(where: Path, key: str) -> Path:
    return ("sweep",) + where + (key,)


def _check_keys(sweep: SweepSpec, base: dict) -> list[Problem]:
    problems = []
    groups: list[tuple[Path, dict]] = [(("grid",), sweep.grid)]
    groups += [(("zip", i), g) for i, g in enumerate(sweep.zip)]
    groups += [(("include", i), g) for i, g in enumerate(sweep.include)]
    groups += [(("exclude", i), g) for i, g in enumerate(sweep.exclude)]
    for where, group in groups:
        for key, values in group.items():
            section = key.split(".")[0]
            if section not in SWEEPABLE or "." not in key:
                problems.append(Problem(_sweep_path(where, key), "a sweep key is a dotted path into one of "
                                        f"[{'], ['.join(SWEEPABLE)}], e.g. 'model.depth'{suggest(section, SWEEPABLE)}",
                                        key))
            elif where[0] in ("grid", "zip") and (not isinstance(values, list) or not values):
                problems.append(Problem(_sweep_path(where, key), "expected a non-empty list of values", values))
    for i, group in enumerate(sweep.zip):
        lengths = {k: len(v) for k, v in group.items()}
        if len(set(lengths.values())) > 1:
            problems.append(Problem(("sweep", "zip", i), f"lists in a zip group must have equal lengths; "
                                    f"found {lengths}"))
    return problems


def _set(tree: dict, key: str, value: Any) -> None:
    *parents, leaf = key.split(".")
    node = tree
    for p in parents:
        node = node.setdefault(p, {})
    node[leaf] = copy.deepcopy(value)


def _get(tree: dict, key: str) -> Any:
    node: Any = tree
    for p in key.split("."):
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def expand_sweep(base: dict, sweep: SweepSpec) -> tuple[list[tuple[dict, dict, dict]], list[Problem]]:
    """Expand a sweep over a base configuration.

    Parameters
    ----------
    base : dict
        The manifest's run sections (``dataset``, ``model``, ``training``, ``regulariser``).
    sweep : SweepSpec

    Returns
    -------
    points : list of (config, axes, at)
        ``config`` is ``base`` with the point's values set; ``axes`` maps each
        swept dotted key to its value; ``at`` maps the config path of each swept
        value to the sweep entry that set it (for error lines).
    problems : list of Problem
    """
    problems = _check_keys(sweep, base)
    if problems:
        return [], problems
    axes: list[list[list[tuple[str, Any, Path]]]] = []
    for key, values in sweep.grid.items():
        axes.append([[(key, v, ("sweep", "grid", key, j))] for j, v in enumerate(values)])
    for i, group in enumerate(sweep.zip):
        n = len(next(iter(group.values()))) if group else 0
        axes.append([[(k, vs[j], ("sweep", "zip", i, k, j)) for k, vs in group.items()] for j in range(n)])
    combos = [sum(c, []) for c in itertools.product(*axes)]
    combos = [c for c in combos if not any(_matches(c, base, ex) for ex in sweep.exclude)]
    combos += [[(k, v, ("sweep", "include", i, k)) for k, v in inc.items()] for i, inc in enumerate(sweep.include)]
    points = []
    for combo in combos:
        config = copy.deepcopy(base)
        at = {}
        for key, value, where in combo:
            _set(config, key, value)
            at[tuple(key.split("."))] = where
        points.append((config, {k: v for k, v, _ in combo}, at))
    return points, []


def _matches(combo: list[tuple[str, Any, Path]], base: dict, exclude: dict[str, Any]) -> bool:
    values = {k: v for k, v, _ in combo}
    return all(values.get(k, _get(base, k)) == v for k, v in exclude.items())
