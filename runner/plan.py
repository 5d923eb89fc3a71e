"""Diff a manifest against the store, Terraform-style.

Each item has an action and a reason: ``+`` to train or to compute, ``~``
stale (a measure's parameters or ``version`` changed), ``=`` done, ``-`` in
the store but no longer named by the manifest (kept, never deleted). The plan's
tasks are exactly what ``runner apply`` executes; an unchanged manifest gives
no task.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from runner.imported import resolve_runs
from runner.keys import measure_key
from runner.manifest import Manifest, MeasureEntry, Run, SampleSpec
from runner.store import Store


@dataclass(frozen=True)
class Measurement:
    """One measure, with its params, on one run at one checkpoint epoch."""

    epoch: int
    entry: MeasureEntry
    key: str
    version: int

    @property
    def slot(self) -> str:
        """Where its state is kept: ``"<epoch>/<measure id>"``."""
        return f"{self.epoch}/{self.entry.id}"


@dataclass
class Task:
    """What a worker does for one run: train (or not), then compute the listed measurements.

    ``sample`` is the manifest's ``[measurement]`` section: the fixed examples
    every measure sees; ``measurements`` are the measures to compute.
    """

    run: Run
    experiment: str
    store: str
    sample: SampleSpec
    train: bool
    measurements: list[Measurement]

    @property
    def run_id(self) -> str:
        """The run's identity, a hash of its canonical configuration."""
        return self.run.run_id


@dataclass(frozen=True)
class Item:
    """One line of the plan."""

    action: str  # "+", "~", "=", "-"
    run_id: str
    what: str  # "train" or "<measure id> @ epoch <e>" or "run"
    reason: str


@dataclass
class Plan:
    """The diff and the tasks that resolve it."""

    items: list[Item] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)

    def counts(self) -> Counter:
        """``Counter`` of ``(action, kind)`` with kind ``"run"`` or ``"measurement"``."""
        return Counter((i.action, "run" if i.what in ("train", "run") else "measurement") for i in self.items)

    @property
    def empty(self) -> bool:
        """True when there is nothing to train or measure."""
        return not self.tasks


def describe(run: Run) -> str:
    """A short human label of a run from its sweep values."""
    c = run.config
    axes = " ".join(f"{k.split('.')[-1]}={v}" for k, v in run.axes.items() if k != "seed")
    return f"{c.dataset.name}/{c.model.name} {axes} seed={c.seed}".replace("  ", " ")


def _measurements(run: Run, manifest: Manifest, keys: dict[str, tuple[str, int]]) -> list[Measurement]:
    return [Measurement(e, m, *keys[m.id]) for e in run.config.training.checkpoint_epochs for m in manifest.measures]


def _train_reason(state: dict, run: Run) -> str | None:
    if not state:
        return "new run"
    if not state.get("trained"):
        return f"training did not finish ({state.get('status', 'interrupted')})"
    missing = sorted(set(run.config.training.checkpoint_epochs) - set(state.get("checkpoints", [])))
    if missing:
        return f"checkpoint epochs {missing} were not saved"
    return None


def _measure_item(m: Measurement, stored: dict | None) -> tuple[str, str]:
    if stored is None:
        return "+", "new measurement"
    if stored.get("key") != m.key:
        return "~", "parameters or measurement sample changed"
    if stored.get("version") != m.version:
        return "~", f"measure version {stored.get('version')} -> {m.version}"
    return "=", "up to date"


def make_plan(manifest: Manifest, store: Store) -> Plan:
    """Compare the manifest's runs and measurements with what the store holds.

    Runs of imported networks are first resolved against their files
    (:func:`runner.imported.resolve_runs`, which raises ``ManifestError``).
    """
    states = store.states()
    plan = Plan()
    keys = {m.id: (measure_key(m, manifest.sample), m.version) for m in manifest.measures}  # the same for every run
    wanted = set()
    for run in resolve_runs(manifest):
        rid = run.run_id
        wanted.add(rid)
        plan.labels[rid] = describe(run)
        state = states.get(rid, {})
        reason = _train_reason(state, run)
        plan.items.append(Item("+" if reason else "=", rid, "train", reason or "trained"))
        todo = []
        stored_all = state.get("measurements", {})
        measurements = _measurements(run, manifest, keys)
        for m in measurements:
            action, why = _measure_item(m, stored_all.get(m.slot))
            plan.items.append(Item(action, rid, f"{m.entry.id} @ epoch {m.epoch}", why))
            if action != "=":
                todo.append(m)
        slots = {m.slot for m in measurements}
        for slot in sorted(set(stored_all) - slots):
            epoch, mid = slot.split("/", 1)
            plan.items.append(Item("-", rid, f"{mid} @ epoch {epoch}", "not in the manifest; kept in the store"))
        if reason or todo:
            plan.tasks.append(Task(run, manifest.experiment.name, str(store.root), manifest.sample,
                                   bool(reason), todo))
    for rid in sorted(set(states) - wanted):
        plan.items.append(Item("-", rid, "run", "not in the manifest; kept in the store"))
    plan.tasks.sort(key=expected_cost, reverse=True)  # longest first: no worker idles at the end on a big run
    return plan


def expected_cost(task: Task) -> float:
    """A relative estimate of a task's cost, for longest-expected-first scheduling (not seconds).

    Training: epochs x the network's size, estimated without building it from
    its ``depth`` and ``width`` parameters (``depth x width^2``, the weight count
    of a chain of equal layers; 1 when the architecture has no such parameters);
    the examples per epoch are the same within a data set and left out.
    Measuring: half a unit of size per measurement. Ties keep sweep order.
    """
    params = task.run.config.model.params
    depth = max(int(getattr(params, "depth", 1) or 1), 1)
    width = max(int(getattr(params, "width", 1) or 1), 1)
    size = depth * width * width
    train = task.run.config.training.epochs * size if task.train else 0.0
    return train + len(task.measurements) * size * 0.5
