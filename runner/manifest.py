"""The manifest schema: experiment, data, model, training, regulariser, measures, sweep.

:func:`load_manifest` reads TOML or YAML, validates every section and every
point of the sweep, and raises one :class:`~runner.errors.ManifestError` listing
every problem with ``file:line``. Sections whose schema depends on a name
(``model``, ``regulariser``, each ``measures`` entry) are validated against the
registered component's parameter model.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SerializeAsAny

from measures.registry import MeasureParams, get_measure, list_measures
from models.architectures import ModelParams, get_model, list_models
from models.data import DatasetSpec
from models.regularisers import get_regulariser, list_regularisers
from models.training import RegulariserSpec, TrainingSpec
from reports.kinds import ReportOptionError, kind_options, list_kinds
from runner.errors import ManifestError, Problem, name_problem, safe_name, suggest, validate
from runner.parsing import check_sections, parse
from runner.positions import Path
from runner.sweep import SweepSpec, expand_sweep

SECTIONS = ("experiment", "dataset", "model", "training", "regulariser", "measurement", "measures",
            "reports", "executor", "sweep")
RUN_SECTIONS = ("dataset", "model", "training", "regulariser")
LIST_SECTIONS = ("measures", "reports")


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ExperimentSpec(_Frozen):
    """``[experiment]``: name, where the store lives, the seeds every sweep point is trained with."""

    name: Annotated[str, AfterValidator(safe_name)]  # the store's directory is runs/<name>
    description: str = ""
    store: str | None = None
    seeds: tuple[int, ...] = Field((0,), min_length=1)

    @property
    def store_path(self) -> str:
        """The result store: ``store``, else ``runs/<name>``."""
        return self.store or f"runs/{self.name}"


class SampleSpec(_Frozen):
    """``[measurement]``: the fixed sample of examples every measure is computed on.

    ``train_samples`` training and ``test_samples`` test examples are drawn once
    per data set with ``seed`` (the same examples for every run and checkpoint).
    """

    train_samples: int = Field(1000, ge=2)
    test_samples: int = Field(500, ge=2)
    seed: int = 0
    batch_size: int = Field(512, ge=1)


class ExecutorSpec(_Frozen):
    """``[executor]``: how runs are scheduled."""

    kind: Literal["local"] = "local"
    workers: int | None = Field(None, ge=1)
    runs_per_gpu: int = Field(1, ge=1)
    threads_per_worker: int = Field(1, ge=1)


class ReportEntry(_Frozen):
    """One ``[[reports]]`` entry: a report kind, its output formats and its options."""

    kind: str
    formats: tuple[Literal["html", "latex"], ...] = ("html", "latex")
    #: The kind's options (the fields of its options model, :func:`reports.kinds.kind_options`), the entry's other keys.
    options: dict[str, Any] = Field(default_factory=dict)


class ModelEntry(_Frozen):
    """A registered architecture and its parameters."""

    name: str
    params: SerializeAsAny[ModelParams]


class MeasureEntry(_Frozen):
    """A measure to compute at every checkpoint; ``id`` names its rows (default: ``name``)."""

    name: str
    id: str
    params: SerializeAsAny[MeasureParams]

    @property
    def version(self) -> int:
        """The registered measure's version (a change makes stored values stale)."""
        return get_measure(self.name).version


class RunConfig(_Frozen):
    """Everything that determines one trained network (its identity is :func:`runner.keys.run_id`)."""

    dataset: DatasetSpec
    model: ModelEntry
    training: TrainingSpec
    regulariser: RegulariserSpec
    seed: int


@dataclass
class Run:
    """One point of the run matrix: its config and the sweep values that made it."""

    config: RunConfig
    axes: dict[str, Any]
    _run_id: str | None = field(default=None, repr=False, compare=False)

    @property
    def run_id(self) -> str:
        """Hash of the canonical configuration (never of the manifest's text); computed once."""
        if self._run_id is None:
            from runner.keys import run_id

            self._run_id = run_id(self.config)
        return self._run_id


@dataclass
class Manifest:
    """A validated manifest and its expanded run matrix."""

    file: str
    text: str
    experiment: ExperimentSpec
    sample: SampleSpec  # the [measurement] section
    executor: ExecutorSpec
    measures: list[MeasureEntry]
    reports: list[ReportEntry]
    runs: list[Run] = field(default_factory=list)


def _parse(file: str, raw: bytes) -> tuple[dict, dict[Path, int], str]:
    """Parse a manifest's bytes into a table of sections (see :func:`runner.parsing.parse`)."""
    return parse(file, raw)


def _named(data: Any, section: Path, known: list[str], kind: str, problems: list[Problem],
           at: dict[Path, Path]) -> tuple[str | None, dict]:
    """Split a ``{name = ..., **params}`` table into its name and params."""
    if not isinstance(data, dict):
        problems.append(Problem(section, "expected a table with a 'name' key", data, at.get(section)))
        return None, {}
    params = {k: v for k, v in data.items() if k != "name"}
    name = data.get("name")
    if name is None:
        problems.append(Problem(section + ("name",), f"missing; expected one of the {kind}s: {', '.join(known)}"))
    elif not isinstance(name, str):
        problems.append(Problem(section + ("name",), f"expected the name of a {kind} (a string)", name,
                                at.get(section + ("name",))))
        name = None
    elif name not in known:
        problems.append(Problem(section + ("name",), f"unknown {kind}{suggest(name, known)} "
                                f"(known: {', '.join(known)})", name, at.get(section + ("name",))))
        name = None
    return name, params


def _report(data: Any, i: int, problems: list[Problem]) -> ReportEntry | None:
    """Validate one ``[[reports]]`` entry: its kind, formats, and the kind's options (the other keys)."""
    if isinstance(data, dict):
        data = {**{k: data[k] for k in ("kind", "formats") if k in data},
                "options": {k: v for k, v in data.items() if k not in ("kind", "formats")}}
    entry = validate(ReportEntry, data, ("reports", i), problems)
    if entry is None:
        return None
    if entry.kind not in list_kinds():
        problems.append(Problem(("reports", i, "kind"), f"unknown report kind{suggest(entry.kind, list_kinds())} "
                                f"(known: {', '.join(list_kinds())})", entry.kind))
        return None
    try:
        kind_options(entry.kind, entry.options)
    except ReportOptionError as exc:
        for error in exc.errors:
            path = ("reports", i) + ((error.key,) if error.key else ())
            problems.append(Problem(path, str(error), error.found))
        return None
    return entry


def _run_config(point: dict, seed: int, problems: list[Problem], at: dict[Path, Path],
                cache: dict | None = None) -> RunConfig | None:
    """Validate one sweep point's run sections into a :class:`RunConfig`.

    ``cache`` (section name and canonical JSON -> validated section) makes a
    sweep validate each distinct value of a section once, however many points
    and seeds share it; only valid sections are kept, so every problem is still
    reported where it arises.
    """
    cache = {} if cache is None else cache
    n_before = len(problems)
    dataset = _cached(cache, "dataset", point.get("dataset", {}),
                      lambda d: validate(DatasetSpec, d, ("dataset",), problems, at))
    training = _cached(cache, "training", point.get("training", {}),
                       lambda d: validate(TrainingSpec, d, ("training",), problems, at))
    model = _cached(cache, "model", point.get("model"), lambda d: _model(d, problems, at))
    regulariser = _cached(cache, "regulariser", point.get("regulariser", {"name": "none"}),
                          lambda d: _regulariser(d, problems, at))
    if len(problems) > n_before or None in (dataset, training, model, regulariser):
        return None
    return RunConfig.model_construct(dataset=dataset, model=model, training=training, regulariser=regulariser,
                                     seed=seed)


def _cached(cache: dict, section: str, data: Any, make):
    """``make(data)`` validated once per distinct value: by identity first (sweep points share
    the tables no axis changes), then by canonical JSON."""
    from runner.keys import canonical_json

    same = cache.get(("id", section, id(data)))
    if same is not None and same[0] is data:
        return same[1]
    try:
        key = (section, canonical_json(data))
    except (TypeError, ValueError):  # not JSON-able: validation reports it
        return make(data)
    if key not in cache:
        made = make(data)
        if made is None:
            return None
        cache[key] = made
    cache[("id", section, id(data))] = (data, cache[key])  # holds data: its id stays unique
    return cache[key]


def _model(data: Any, problems: list[Problem], at: dict[Path, Path]) -> ModelEntry | None:
    name, params = _named(data, ("model",), list_models(), "model", problems, at)
    model = name and validate(get_model(name).params, params, ("model",), problems, at)
    return ModelEntry(name=name, params=model) if model else None


def _regulariser(data: Any, problems: list[Problem], at: dict[Path, Path]) -> RegulariserSpec | None:
    reg = dict(data) if isinstance(data, dict) else data
    weight = reg.pop("weight", 0.0) if isinstance(reg, dict) else 0.0
    rname, rparams = _named(reg, ("regulariser",), list_regularisers(), "regulariser", problems, at)
    rp = rname and validate(get_regulariser(rname).params, rparams, ("regulariser",), problems, at)
    return (rname and rp is not None and validate(
        RegulariserSpec, {"name": rname, "weight": weight, "params": rp}, ("regulariser",), problems, at)) or None


def _measures(data: Any, problems: list[Problem]) -> list[MeasureEntry]:
    if not isinstance(data, list):
        problems.append(Problem(("measures",), "expected a list of [[measures]] tables", data))
        return []
    entries, seen = [], {}
    for i, item in enumerate(data):
        item = dict(item) if isinstance(item, dict) else item
        mid = item.pop("id", None) if isinstance(item, dict) else None
        if mid is not None and (why := name_problem(mid)) is not None:
            problems.append(Problem(("measures", i, "id"), f"a measure id names its files: {why}", mid))
            mid = None
        name, params = _named(item, ("measures", i), list_measures(), "measure", problems, {})
        if name is None:
            continue
        p = validate(get_measure(name).params, params, ("measures", i), problems)
        mid = mid or name
        if mid in seen:
            problems.append(Problem(("measures", i, "id"), f"measure id {mid!r} is already used by "
                                    f"measures[{seen[mid]}]; give one of them a distinct 'id'", mid))
        seen[mid] = i
        if p is not None:
            entries.append(MeasureEntry(name=name, id=mid, params=p))
    return entries


def load_manifest(path: str | FsPath) -> Manifest:
    """Read, validate and expand a manifest.

    Parameters
    ----------
    path : str or Path
        A ``.toml``, ``.yaml`` or ``.yml`` file.

    Returns
    -------
    Manifest

    Raises
    ------
    ManifestError
        Listing every problem at once, each with ``file:line``, key path, what was
        expected and what was found.
    FileNotFoundError
        If ``path`` does not exist.
    """
    file = str(path)
    data, lines, text = _parse(file, FsPath(path).read_bytes())
    problems: list[Problem] = []
    given = set(data)
    data = check_sections(data, SECTIONS, LIST_SECTIONS, problems)
    for key in ("experiment", "dataset", "model"):
        if key not in given:
            problems.append(Problem((key,), f"missing section [{key}]"))
    experiment = validate(ExperimentSpec, data.get("experiment", {}), ("experiment",), problems)
    sample = validate(SampleSpec, data.get("measurement", {}), ("measurement",), problems)
    executor = validate(ExecutorSpec, data.get("executor", {}), ("executor",), problems)
    reports = [_report(r, i, problems) for i, r in enumerate(data.get("reports", []))]
    first: dict[str, int] = {}
    for i, entry in enumerate(reports):
        if entry is not None and first.setdefault(entry.kind, i) != i:
            problems.append(Problem(("reports", i, "kind"), f"report kind {entry.kind!r} is already listed at "
                                    f"reports[{first[entry.kind]}]; one entry per kind", entry.kind))
    measures = _measures(data.get("measures", []), problems)
    sweep = validate(SweepSpec, data.get("sweep", {}), ("sweep",), problems)
    runs: list[Run] = []
    if sweep is not None:  # validated even when other sections have problems: every error at once
        base = {k: copy.deepcopy(data[k]) for k in RUN_SECTIONS if k in data}
        runs = _expand(base, sweep, experiment.seeds if experiment else (0,), problems)
    wrong = {k for k in given if k in SECTIONS and k not in data}  # reported once as not a table / list
    problems = [p for p in problems if len(p.path) < 2 or p.path[0] not in wrong]
    if problems:
        raise ManifestError(file, _dedupe(problems), lines, text)
    return Manifest(file, text, experiment, sample, executor, measures, reports, runs)


def _expand(base: dict, sweep: SweepSpec, seeds: tuple[int, ...], problems: list[Problem]) -> list[Run]:
    points, sweep_problems = expand_sweep(base, sweep, len(seeds))
    problems.extend(sweep_problems)
    from runner.keys import seeded_run_ids

    runs, seen, cache = [], set(), {}
    for point, axes, at in points:
        configs = []
        for seed in seeds:
            config = _run_config(point, seed, problems, at, cache)
            if config is None:
                break
            configs.append(config)
        for config, rid in zip(configs, seeded_run_ids(configs)):
            run = Run(config, {**axes, "seed": config.seed}, rid)
            if run.run_id not in seen:
                seen.add(run.run_id)
                runs.append(run)
    return runs


def _dedupe(problems: list[Problem]) -> list[Problem]:
    seen, out = set(), []
    for p in problems:
        key = (p.path, p.message, repr(p.found))
        if key not in seen:
            seen.add(key)
            out.append(p)
    return out
