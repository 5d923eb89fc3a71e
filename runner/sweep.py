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
    max_runs = 100000   # the default: a larger sweep is refused before it is expanded

Its size is counted from the lists (excludes by inclusion-exclusion over the
boxes they cut out), so a sweep too large to run is refused without expanding it.
"""

from __future__ import annotations

import copy
import itertools
import math
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
    max_runs: int = Field(100_000, ge=1)


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
            else:
                problems += _cannot_set(base, key, _sweep_path(where, key))
    keys = {k for where, group in groups if where[0] != "exclude" for k in group}  # keys that set values
    for key in sorted(keys):
        parts = key.split(".")
        for n in range(1, len(parts)):
            if ".".join(parts[:n]) in keys:
                problems.append(Problem(("sweep",), f"sweep keys {'.'.join(parts[:n])!r} and {key!r} overlap: "
                                        "one sets a value inside the other", key))
    for i, group in enumerate(sweep.zip):
        lengths = {k: len(v) for k, v in group.items()}
        if len(set(lengths.values())) > 1:
            problems.append(Problem(("sweep", "zip", i), f"lists in a zip group must have equal lengths; "
                                    f"found {lengths}"))
    return problems


def _cannot_set(base: dict, key: str, where: Path) -> list[Problem]:
    """A problem if a parent of the dotted ``key`` is a value in ``base``, not a table."""
    node: Any = base
    parts = key.split(".")
    for n, p in enumerate(parts[:-1]):
        node = node.get(p) if isinstance(node, dict) else None
        if node is None:
            return []
        if not isinstance(node, dict):
            return [Problem(where, f"cannot set {key!r}: {'.'.join(parts[:n + 1])} is a value, not a table", key)]
    return []


def _set(tree: dict, key: str, value: Any) -> None:
    """Set ``key`` in ``tree``, copying the tables along its path (the others stay shared with the base)."""
    *parents, leaf = key.split(".")
    node = tree
    for p in parents:
        child = node.get(p)
        node[p] = child = dict(child) if isinstance(child, dict) else {}
        node = child
    node[leaf] = copy.deepcopy(value) if isinstance(value, (dict, list)) else value


def _get(tree: dict, key: str) -> Any:
    node: Any = tree
    for p in key.split("."):
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def expand_sweep(base: dict, sweep: SweepSpec, seeds: int = 1) -> tuple[list[tuple[dict, dict, dict]],
                                                                         list[Problem]]:
    """Expand a sweep over a base configuration.

    Parameters
    ----------
    base : dict
        The manifest's run sections (``dataset``, ``model``, ``training``, ``regulariser``).
    sweep : SweepSpec
    seeds : int
        Runs per point: a sweep of more than ``sweep.max_runs / seeds`` points is
        refused before it is expanded.

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
    if (too_big := _too_big(base, sweep, seeds)) is not None:
        return [], [too_big]
    axes: list[list[list[tuple[str, Any, Path]]]] = []
    for key, values in sweep.grid.items():
        axes.append([[(key, v, ("sweep", "grid", key, j))] for j, v in enumerate(values)])
    for i, group in enumerate(sweep.zip):
        n = len(next(iter(group.values()))) if group else 0
        axes.append([[(k, vs[j], ("sweep", "zip", i, k, j)) for k, vs in group.items()] for j in range(n)])
    combos = (sum(c, []) for c in itertools.product(*axes))  # lazily: excludes may drop most points
    combos = [c for c in combos if not any(_matches(c, base, ex) for ex in sweep.exclude)]
    combos += [[(k, v, ("sweep", "include", i, k)) for k, v in inc.items()] for i, inc in enumerate(sweep.include)]
    points = []
    for combo in combos:
        config = dict(base)  # copy-on-write: _set copies the tables it changes; nothing downstream mutates a point
        at = {}
        for key, value, where in combo:
            _set(config, key, value)
            at[tuple(key.split("."))] = where
        points.append((config, {k: v for k, v, _ in combo}, at))
    return points, []


def _matches(combo: list[tuple[str, Any, Path]], base: dict, exclude: dict[str, Any]) -> bool:
    values = {k: v for k, v, _ in combo}
    return all(values.get(k, _get(base, k)) == v for k, v in exclude.items())


def _axes(sweep: SweepSpec) -> list[dict[str, list]]:
    """The sweep's axes: one ``{key: values}`` per grid key, each zip group as it is (equal lengths)."""
    return [{key: values} for key, values in sweep.grid.items()] + [g for g in sweep.zip]


def _length(axis: dict[str, list]) -> int:
    return len(next(iter(axis.values()))) if axis else 0


def _box(axes: list[dict[str, list]], base: dict, exclude: dict[str, Any]) -> list[set[int] | None] | None:
    """The points an exclude entry matches: per axis, the matching positions (``None``: all); ``None`` if none."""
    owner = {k: a for a, axis in enumerate(axes) for k in axis}  # the last axis setting a key wins
    box: list[set[int] | None] = [None] * len(axes)
    for key, value in exclude.items():
        if key not in owner:
            if _get(base, key) != value:
                return None
            continue
        a = owner[key]
        hits = {j for j, v in enumerate(axes[a][key]) if v == value}
        box[a] = hits if box[a] is None else box[a] & hits
    return box


def _count(axes: list[dict[str, list]], box: list[set[int] | None]) -> int:
    return math.prod(_length(axes[a]) if s is None else len(s) for a, s in enumerate(box))


def _excluded(axes: list[dict[str, list]], boxes: list[list], budget: int = 20_000) -> int | None:
    """Points in the union of the exclude boxes (inclusion-exclusion, empty intersections pruned).

    ``None`` when that takes more than ``budget`` terms.
    """
    total, stack = 0, [(i, boxes[i], 1) for i in range(len(boxes))]
    budget -= len(stack)
    while stack:
        i, box, sign = stack.pop()
        n = _count(axes, box)
        if n == 0:
            continue  # every intersection with more boxes is empty too
        total += sign * n
        budget -= len(boxes) - i - 1
        if budget < 0:
            return None
        for j in range(i + 1, len(boxes)):
            stack.append((j, [b if c is None else c if b is None else b & c for b, c in zip(box, boxes[j])], -sign))
    return total


def sweep_size(base: dict, sweep: SweepSpec) -> tuple[int, int]:
    """Bounds on the number of points of a sweep, counted without expanding it.

    Parameters
    ----------
    base : dict
        The manifest's run sections (for excludes on keys the sweep does not vary).
    sweep : SweepSpec
        A sweep whose keys passed the checks of :func:`expand_sweep`.

    Returns
    -------
    (low, high) : tuple of int
        Equal (the exact size) unless the excludes are too many to count exactly.
    """
    axes = _axes(sweep)
    product = math.prod(_length(axis) for axis in axes)
    boxes = [b for ex in sweep.exclude if (b := _box(axes, base, ex)) is not None]
    excluded = _excluded(axes, boxes)
    if excluded is not None:
        return product - excluded + len(sweep.include), product - excluded + len(sweep.include)
    return max(0, product - sum(_count(axes, b) for b in boxes)) + len(sweep.include), product + len(sweep.include)


def _too_big(base: dict, sweep: SweepSpec, seeds: int) -> Problem | None:
    """A problem if the sweep, times ``seeds``, has more runs than ``sweep.max_runs``."""
    if (math.prod(_length(axis) for axis in _axes(sweep)) + len(sweep.include)) * seeds <= sweep.max_runs:
        return None  # the bound without excludes first
    low, high = sweep_size(base, sweep)
    if high * seeds <= sweep.max_runs:
        return None
    size = f"{low:,}" if low == high else f"between {low:,} and {high:,} (too many excludes to count exactly)"
    more = "more" if low * seeds > sweep.max_runs else "possibly more"
    return Problem(("sweep",), f"the sweep has {size} points x {seeds} seed{'s' * (seeds != 1)}: {more} than "
                               f"max_runs = {sweep.max_runs:,} runs; narrow it, or raise [sweep] max_runs")
