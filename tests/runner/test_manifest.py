"""Manifest validation: every error at once with file:line, suggestions, and the run matrix."""

import pytest
import yaml

from runner.errors import ManifestError
from runner.manifest import SampleSpec, load_manifest
from tests.runner.conftest import BASE


def errors_of(path) -> str:
    with pytest.raises(ManifestError) as exc:
        load_manifest(path)
    return str(exc.value)


def test_base_manifest_expands_grid_times_seeds(write):
    m = load_manifest(write(BASE))
    assert len(m.runs) == 4
    assert sorted((r.config.model.params.depth, r.config.seed) for r in m.runs) == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert [e.id for e in m.measures] == ["weight_spectrum", "neural_collapse"]
    assert m.runs[0].axes == {"model.depth": 1, "seed": 0}
    # the [measurement] section: the fixed sample of examples every measure sees
    assert m.sample == SampleSpec(train_samples=200, test_samples=100, seed=0, batch_size=512)


def test_run_ids_ignore_comments_order_and_format(write):
    a = load_manifest(write(BASE, "a.toml"))
    shuffled = BASE.replace('name = "mlp"\ndepth = 1\nwidth = 16', 'width = 16   # comment\nname   =  "mlp"\ndepth=1')
    assert shuffled != BASE
    b = load_manifest(write(shuffled, "b.toml"))
    assert [r.run_id for r in a.runs] == [r.run_id for r in b.runs]


def test_yaml_gives_the_same_runs(write):
    import tomllib

    data = tomllib.loads(BASE)
    y = load_manifest(write(yaml.safe_dump(data), "m.yaml"))
    t = load_manifest(write(BASE))
    assert [r.run_id for r in y.runs] == [r.run_id for r in t.runs]


def test_a_different_value_changes_the_run_id_but_checkpoints_do_not(write):
    a = load_manifest(write(BASE, "a.toml")).runs[0].run_id
    lr = load_manifest(write(BASE.replace("epochs = 3", "epochs = 3\nlr = 0.01"), "b.toml")).runs[0].run_id
    ck = load_manifest(write(BASE.replace("checkpoints = [1]", "checkpoints = [1, 2]"), "c.toml")).runs[0].run_id
    assert a != lr
    assert a == ck


def test_every_error_at_once_with_lines_and_suggestions(write):
    text = BASE.replace("width = 16", "widht = 16").replace("batch_size = 64", 'batch_size = "big"')
    text = text.replace('name = "neural_collapse"', 'name = "neural_colapse"')
    msg = errors_of(write(text))
    assert "3 problems" in msg
    assert "m.toml:12 (model.widht): unknown key; did you mean 'width'?" in msg
    assert "m.toml:16 (training.batch_size)" in msg and "found 'big'" in msg
    assert "m.toml:27 (measures[1].name): unknown measure; did you mean 'neural_collapse'?" in msg
    assert '    12 | widht = 16' in msg


def test_unknown_section_and_measure_param(write):
    text = BASE.replace("[measurement]", "[measurment]") + '\n[[measures]]\nname = "weight_spectrum"\nid = "ws2"\nfoo = 1\n'
    msg = errors_of(write(text))
    assert "(measurment): unknown section; did you mean 'measurement'?" in msg
    assert "(measures[2].foo): unknown key" in msg


def test_duplicate_measure_ids_are_an_error(write):
    msg = errors_of(write(BASE + '\n[[measures]]\nname = "weight_spectrum"\n'))
    assert "measure id 'weight_spectrum' is already used by measures[0]" in msg


def test_bad_sweep_value_points_at_the_sweep_line(write):
    msg = errors_of(write(BASE.replace('"model.depth" = [1, 2]', '"model.depth" = [1, -2]')))
    assert "m.toml:30 (model.depth)" in msg and "found -2" in msg


def test_unknown_sweep_key(write):
    msg = errors_of(write(BASE.replace('"model.depth"', '"modle.depth"')))
    assert "(sweep.grid.modle.depth)" in msg and "did you mean 'model'" in msg


def test_toml_syntax_error(write):
    msg = errors_of(write(BASE.replace("epochs = 3", "epochs = ")))
    assert "not valid TOML" in msg


def test_zip_include_exclude(write):
    text = BASE.replace('grid = { "model.depth" = [1, 2] }', """
grid = { "model.depth" = [1, 2] }
zip = [{ "training.lr" = [0.1, 0.01], "training.batch_size" = [32, 128] }]
exclude = [{ "model.depth" = 2, "training.lr" = 0.01 }]
include = [{ "model.depth" = 5, "model.width" = 8 }]
""").replace("seeds = [0, 1]", "seeds = [0]")
    m = load_manifest(write(text))
    got = sorted((r.config.model.params.depth, r.config.model.params.width, r.config.training.lr,
                  r.config.training.batch_size) for r in m.runs)
    assert got == [(1, 16, 0.01, 128), (1, 16, 0.1, 32), (2, 16, 0.1, 32), (5, 8, 0.05, 64)]


def test_zip_lists_must_match(write):
    text = BASE.replace('grid = { "model.depth" = [1, 2] }', 'zip = [{ "training.lr" = [0.1], "training.epochs" = [1, 2] }]')
    assert "equal lengths" in errors_of(write(text))


def test_lists_that_are_values_are_not_axes(write):
    m = load_manifest(write(BASE.replace("checkpoints = [1]", "checkpoints = [1, 2]")))
    assert len(m.runs) == 4
    assert m.runs[0].config.training.checkpoint_epochs == (1, 2, 3)


def test_quickstart_is_36_runs():
    from pathlib import Path

    m = load_manifest(Path(__file__).parents[2] / "manifests" / "quickstart.toml")
    assert len(m.runs) == 36
    assert len({r.run_id for r in m.runs}) == 36


def test_unknown_report_kind_points_at_its_line(write):
    text = BASE + '\n[[reports]]\nkind = "gap_regresion"\n'
    line = text.splitlines().index('kind = "gap_regresion"') + 1
    msg = errors_of(write(text))
    assert f"m.toml:{line} (reports[0].kind): unknown report kind; did you mean 'gap_regression'?" in msg


def test_report_options_are_the_kinds_and_checked_at_load(write):
    ok = load_manifest(write(BASE + '\n[[reports]]\nkind = "ranking"\naxes = ["model.depth"]\nmin_runs = 4\n'))
    assert ok.reports[0].options == {"axes": ["model.depth"], "min_runs": 4}
    text = BASE + '\n[[reports]]\nkind = "layers"\nepsilon = 2.0\n\n[[reports]]\nkind = "ranking"\nmin_run = 4\n'
    lines = text.splitlines()
    msg = errors_of(write(text))
    assert f"m.toml:{lines.index('min_run = 4') + 1} (reports[1].min_run): unknown ranking option 'min_run'; " \
           "did you mean 'min_runs'?" in msg
    assert f"m.toml:{lines.index('epsilon = 2.0') + 1} (reports[0].epsilon): The 'epsilon' option of layers must " \
           "be a float in the range [0, 1). Got 2.0 instead." in msg


def test_a_report_kind_is_listed_once(write):
    text = BASE + '\n[[reports]]\nkind = "ranking"\n\n[[reports]]\nkind = "ranking"\nmin_runs = 4\n'
    msg = errors_of(write(text))
    assert "(reports[1].kind): report kind 'ranking' is already listed at reports[0]; one entry per kind" in msg


def test_plan_puts_the_longest_runs_first():
    from pathlib import Path

    from runner.manifest import load_manifest
    from runner.plan import expected_cost, make_plan
    from runner.store import Store

    m = load_manifest(Path(__file__).parents[2] / "manifests" / "quickstart.toml")
    tasks = make_plan(m, Store("/nonexistent-store-for-planning")).tasks
    costs = [expected_cost(t) for t in tasks]
    assert costs == sorted(costs, reverse=True)
    first, last = tasks[0].run.config.model.params, tasks[-1].run.config.model.params
    assert (first.depth, first.width) == (3, 256) and (last.depth, last.width) == (1, 64)
