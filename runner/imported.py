"""Runs of imported networks (trained elsewhere), resolved against their files when a manifest is planned.

Loading a manifest never reads data: a run of an imported architecture (one
registered with ``imported=``, see :mod:`models.imported`) is resolved only
by :func:`resolve_runs`, which :func:`runner.plan.make_plan` calls. Each such
run becomes the runs its parameters name (``id = "all"``: one per model
found), with the hyperparameters the network was trained with as its sweep
axes instead of the ``model.*`` keys that selected it. Settings that do not
apply to a network that is never trained are errors.
"""

from __future__ import annotations

from models.architectures import get_model
from runner.errors import ManifestError, Problem
from runner.manifest import ModelEntry, Run
from runner.positions import toml_lines, yaml_lines

#: The [training] keys an imported run reads: its final weights are the checkpoint of epoch ``epochs``.
TRAINING_KEYS = ("epochs", "checkpoints")


def _settings(run: Run) -> list[Problem]:
    """What an imported run's [training] and [regulariser] sections set that does not apply to it."""
    cfg = run.config
    problems = [Problem(("training", key), "does not apply to an imported network (it was trained elsewhere); "
                        f"remove it (only {', '.join(TRAINING_KEYS)} apply)", getattr(cfg.training, key))
                for key in sorted(cfg.training.model_fields_set - set(TRAINING_KEYS))]
    extra = sorted(set(cfg.training.checkpoint_epochs) - {0, cfg.training.epochs})
    if extra:
        problems.append(Problem(("training", "checkpoints"), "an imported network has weights at epoch 0 (its "
                                f"initialisation) and at epoch training.epochs = {cfg.training.epochs} (its trained "
                                f"weights) only; epochs {extra} have none", list(cfg.training.checkpoints)))
    if cfg.regulariser.name != "none":
        problems.append(Problem(("regulariser", "name"), "an imported network is not trained: remove [regulariser]",
                                cfg.regulariser.name))
    return problems


def resolve_runs(manifest) -> list[Run]:
    """The manifest's runs, each run of an imported architecture resolved against its files.

    Parameters
    ----------
    manifest : Manifest

    Returns
    -------
    list of Run
        Runs of other architectures unchanged; each imported run replaced by
        the runs its parameters name, with the architecture's axes (e.g. the
        PGDL hyperparameters) followed by the run's axes other than ``model.*``.

    Raises
    ------
    ManifestError
        Listing every problem with ``file:line``: missing files (with the
        command that fetches them), a model that does not belong with its data
        set, settings that do not apply to an imported network, or more than one seed.
    """
    problems: list[Problem] = []
    runs: list[Run] = []
    seeds: set[int] = set()
    for run in manifest.runs:
        imported = get_model(run.config.model.name).imported
        if imported is None:
            runs.append(run)
            continue
        problems += _settings(run)
        seeds.add(run.config.seed)
        try:
            resolved = imported.resolve(run.config.model.params, run.config.dataset)
        except FileNotFoundError as exc:
            problems.append(Problem(("dataset", "root"), str(exc)))
            continue
        except ValueError as exc:
            problems.append(Problem(("model", "name"), str(exc)))
            continue
        kept = {k: v for k, v in run.axes.items() if not k.startswith("model.")}
        for params in resolved:
            config = run.config.model_copy(update={"model": ModelEntry(name=run.config.model.name, params=params)})
            runs.append(Run(config, {**imported.axes(params), **kept}))
    if len(seeds) > 1:
        problems.append(Problem(("experiment", "seeds"), "an imported network is not trained, so every seed would "
                                "measure the same network: give one seed", sorted(seeds)))
    if problems:
        unique = list({(p.path, p.message): p for p in problems}.values())
        text = manifest.text
        lines = yaml_lines(text) if manifest.file.endswith((".yaml", ".yml")) else toml_lines(text)
        raise ManifestError(manifest.file, unique, lines, text)
    seen: set[str] = set()
    return [r for r in runs if not (r.run_id in seen or seen.add(r.run_id))]
