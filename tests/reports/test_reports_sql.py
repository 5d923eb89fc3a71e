"""reports.sql: ref ordering, cycles, StrictUndefined, bound parameters, packaged models."""

from __future__ import annotations

import duckdb
import pytest

from reports.common import write_table
from reports.sql import SOURCES, SqlProject, SqlTemplateError


def _project(tmp_path, **templates) -> SqlProject:
    for name, text in templates.items():
        (tmp_path / f"{name}.sql.j2").write_text(text)
    return SqlProject(tmp_path)


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("CREATE TABLE runs AS SELECT 'r' || range AS run_id, range AS seed FROM range(5)")
    yield c
    c.close()


def test_ref_orders_dependencies_first(tmp_path, con):
    project = _project(
        tmp_path,
        c="SELECT b.n + a.n AS n FROM {{ ref('b') }} AS b, {{ ref('a') }} AS a",
        b="SELECT n * 10 AS n FROM {{ ref('a') }}",
        a="SELECT count(*) AS n FROM {{ source('runs') }}",
        unrelated="SELECT 1 AS x")
    models = project.materialise(con, ["c"])
    assert [m.name for m in models] == ["a", "b", "c"]
    assert project.render("c").refs == ("b", "a")
    assert project.render("a").sources == ("runs",)
    assert con.execute('SELECT n FROM "c"').fetchall() == [(55,)]
    tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    assert "unrelated" not in tables


def test_cycle_is_an_error_naming_it(tmp_path):
    project = _project(tmp_path, a="SELECT * FROM {{ ref('b') }}",
                       b="SELECT * FROM {{ ref('c') }}", c="SELECT * FROM {{ ref('a') }}")
    with pytest.raises(SqlTemplateError, match="cycle through ref\\(\\): a -> b -> c -> a"):
        project.plan(["a"])


def test_self_reference_is_a_cycle(tmp_path):
    project = _project(tmp_path, a="SELECT * FROM {{ ref('a') }}")
    with pytest.raises(SqlTemplateError, match="a -> a"):
        project.plan(["a"])


def test_undefined_variable_is_an_error(tmp_path):
    project = _project(tmp_path, a="SELECT * FROM runs WHERE seed = {{ epoch }}")
    with pytest.raises(SqlTemplateError, match="'epoch' is undefined.*param\\('name'\\)"):
        project.render("a")


def test_parameter_values_are_bound_not_spliced(tmp_path, con):
    nasty = "it's \"quoted\"; DROP TABLE runs; --"
    project = _project(
        tmp_path, a="SELECT {{ param('label') }}::VARCHAR AS label, count(*) AS n\n"
                    "FROM {{ source('runs') }} WHERE seed >= {{ param('min_seed') }}")
    model = project.materialise(con, ["a"], {"label": nasty, "min_seed": 3})[0]
    assert con.execute('SELECT label, n FROM "a"').fetchall() == [(nasty, 2)]
    assert "$label" in model.sql and "DROP" not in model.sql
    assert model.params == ("label", "min_seed")
    assert con.execute("SELECT count(*) FROM runs").fetchall() == [(5,)]


def test_only_used_parameters_are_bound_and_defaults_apply(tmp_path, con):
    project = _project(tmp_path, a="SELECT {{ param('k', 7) }}::INTEGER AS k, "
                                   "{{ param('names', ['x', 'y']) }}::VARCHAR[] AS names")
    project.materialise(con, ["a"], {"unused": 1})
    assert con.execute('SELECT k, names FROM "a"').fetchall() == [(7, ["x", "y"])]
    project.materialise(con, ["a"], {"k": 3, "names": []})
    assert con.execute('SELECT k, names FROM "a"').fetchall() == [(3, [])]


def test_missing_parameter_value_is_an_error(tmp_path, con):
    project = _project(tmp_path, a="SELECT {{ param('epoch') }}::INTEGER AS e")
    with pytest.raises(SqlTemplateError, match="binds parameter 'epoch' but no value"):
        project.materialise(con, ["a"], {})


def test_unknown_names_suggest_the_closest(tmp_path):
    project = _project(tmp_path, final_gaps="SELECT 1 AS x",
                       a="SELECT * FROM {{ ref('finl_gaps') }}",
                       b="SELECT * FROM {{ source('metric') }}")
    with pytest.raises(SqlTemplateError, match="did you mean 'final_gaps'"):
        project.render("a")
    with pytest.raises(SqlTemplateError, match="did you mean 'metrics'"):
        project.render("b")
    with pytest.raises(SqlTemplateError, match="Unknown SQL model 'fnal_gaps'.*final_gaps"):
        project.render("fnal_gaps")


def test_one_select_per_file(tmp_path):
    project = _project(tmp_path, two="SELECT 1; SELECT 2", ddl="CREATE TABLE x (a INT)")
    with pytest.raises(SqlTemplateError, match="exactly one SELECT; found 2"):
        project.render("two")
    with pytest.raises(SqlTemplateError, match="exactly one SELECT"):
        project.render("ddl")


def test_model_may_not_shadow_a_source(tmp_path):
    project = _project(tmp_path, runs="SELECT 1 AS x")
    with pytest.raises(SqlTemplateError, match="would overwrite it"):
        project.render("runs")


def test_temp_tables(tmp_path, con):
    project = _project(tmp_path, a="SELECT 1 AS x")
    project.materialise(con, ["a"], temp=True)
    rows = con.execute("SELECT temporary FROM duckdb_tables() WHERE table_name = 'a'").fetchall()
    assert rows == [(True,)]


def test_write_table_keeps_schema_of_empty_frames(con):
    import polars as pl

    write_table(con, "report_x", pl.DataFrame(schema={"a": pl.Int64, "b": pl.Float64}))
    cols = con.execute("SELECT column_name, data_type FROM information_schema.columns "
                       "WHERE table_name = 'report_x' ORDER BY ordinal_position").fetchall()
    assert cols == [("a", "BIGINT"), ("b", "DOUBLE")]


# ---- the packaged models, on the synthetic store ------------------------------------------

@pytest.mark.parametrize("name", SqlProject().names())
def test_packaged_models_render_to_one_select(name):
    model = SqlProject().render(name)
    assert model.sql.lstrip().upper().startswith(("SELECT", "WITH"))
    assert set(model.sources) <= set(SOURCES)


def test_packaged_models_include_the_report_inputs():
    assert {"final_gaps", "run_features"} <= set(SqlProject().names())


def test_final_gaps_one_row_per_finished_run_at_last_epoch(store):
    SqlProject().materialise(store, ["final_gaps"])
    rows = store.execute('SELECT run_id, epoch, train_accuracy - test_accuracy - gen_gap '
                         'FROM "final_gaps"').fetchall()
    assert len(rows) == 40
    assert {r[1] for r in rows} == {3}
    assert max(abs(r[2]) for r in rows) < 1e-12
    assert not {"zfailed", "zrunning"} & {r[0] for r in rows}
    cols = [r[0] for r in store.execute("DESCRIBE \"final_gaps\"").fetchall()]
    assert cols == ["run_id", "experiment", "seed", "dataset", "arch", "regulariser", "axes",
                    "epoch", "train_accuracy", "test_accuracy", "gen_gap"]


def test_final_gaps_parameters(store):
    project = SqlProject()
    project.materialise(store, ["final_gaps"], {"epoch": 1})
    rows = store.execute('SELECT DISTINCT epoch, gen_gap FROM "final_gaps"').fetchall()
    assert rows == [(1, 0.0)]
    project.materialise(store, ["final_gaps"], {"statuses": ["running"]})
    assert store.execute('SELECT run_id FROM "final_gaps"').fetchall() == [("zrunning",)]
    project.materialise(store, ["final_gaps"], {"experiment": "other's"})
    assert store.execute('SELECT count(*) FROM "final_gaps"').fetchall() == [(0,)]


def test_run_features_last_epoch_newest_version_layer_all(store):
    SqlProject().materialise(store, ["run_features"])
    rows = store.execute('SELECT min(value), count(*), count(DISTINCT (run_id, measure, '
                         'statistic)), min(measure_epoch), min(version) '
                         'FROM "run_features"').fetchall()[0]
    assert rows[0] > -1.0  # none of the trap rows (-100 early, -200 per layer, -300 stale)
    assert rows[1] == rows[2] == 40 * 11
    assert rows[3:] == (3, 2)


def test_run_features_filters(store):
    SqlProject().materialise(store, ["run_features"], {
        "measures": ["neural_collapse"], "statistics": ["cdnv_last_hidden", "nope"]})
    assert store.execute('SELECT DISTINCT measure, statistic FROM "run_features"').fetchall() \
        == [("neural_collapse", "cdnv_last_hidden")]


def test_models_of_several_directories_ref_each_other(tmp_path, con):
    shared, own = tmp_path / "shared", tmp_path / "own"
    shared.mkdir(), own.mkdir()
    (shared / "base.sql.j2").write_text("SELECT count(*) AS n FROM {{ source('runs') }}")
    (own / "top.sql.j2").write_text("SELECT n + 1 AS n FROM {{ ref('base') }}")
    project = SqlProject([shared, own])
    assert project.names() == ["base", "top"]
    assert [m.name for m in project.materialise(con, ["top"])] == ["base", "top"]
    assert con.execute('SELECT n FROM "top"').fetchall() == [(6,)]
    (shared / "top.sql.j2").write_text("SELECT 1 AS n")
    with pytest.raises(SqlTemplateError, match="SQL model 'top' is defined twice: .*shared/top.sql.j2 and "
                                               ".*own/top.sql.j2"):
        SqlProject([shared, own])


def test_a_kind_sees_its_own_models_and_the_shared_ones():
    from reports.common import kind_project
    from reports.kinds import get_kind, list_kinds

    shared = {"final_gaps", "run_features", "training_dynamics_axes"}
    every = set(SqlProject().names())
    for kind in list_kinds():
        names = set(kind_project(get_kind(kind).folder).names())
        own = names - shared
        assert names >= shared and own <= every
        assert all(n.startswith(("regulariser_", kind)) for n in own), (kind, own)
    assert set(kind_project(get_kind("ranking").folder).names()) == shared | {"ranking_axes", "ranking_run_axes"}
