"""The report-kind registry and the contract every registered kind keeps.

The contract test is parametrized over the registry, so a kind is tested the
day it is registered: a summary, an options model with documented defaults,
unknown options rejected with a did-you-mean, and a build on the fixture store
(tests/reports/kinds_store.py) into HTML and LaTeX that shows its title.
"""

from __future__ import annotations

import html
import re
import subprocess
import sys
from pathlib import Path

import pydantic
import pytest

from core.errors import UnknownNameError
from reports.formatting import latex_escape
from reports.kinds import (KindOptions, ReportOptionError, check_kind, get_kind, kind_options, kind_summary,
                           list_kinds, register_kind)
from reports.kinds.gap_regression.families import Family
from reports.render import build_report
from tests.reports.conftest import CATALOG
from tests.reports.kinds_store import one_store

store = pytest.fixture(scope="module")(one_store)

#: The defaults each kind documents (its options model's docstring, the README).
DOCUMENTED_DEFAULTS = {
    "gap_regression": {"families": None, "models": ("linear", "ridge"), "epoch": None, "experiment": None,
                       "statuses": ("done", "trained"), "layer": "all", "n_splits": 2, "n_repeats": 5,
                       "random_state": 1, "min_runs": 10, "n_bootstrap": 1000, "ci_level": 0.95,
                       "bootstrap_seed": 0},
    "ranking": {"epoch": None, "experiment": None, "statuses": ("done", "trained"), "layer": "all",
                "measures": None, "statistics": None, "axes": None, "cmi_subset_sizes": (2,), "min_runs": 10,
                "cluster_measures": ("activation_persistence",), "n_bootstrap": 1000, "ci_level": 0.95,
                "bootstrap_seed": 0, "gap_tolerance": 0.0},
    "regulariser_comparison": {"epoch": None, "experiment": None, "statuses": ("done", "trained"),
                               "seed_blocks": True, "select_weight": False, "alpha": 0.05, "min_blocks": 6},
    "training_dynamics": {"measures": None, "statistics": None, "layer": "all", "axis": "auto", "experiment": None,
                          "statuses": ("done", "trained"), "min_runs": 5, "top": 5},
    "layers": {"measure": "neural_collapse", "statistics": ("ncc_accuracy_train", "ncc_accuracy_test", "cdnv", "nc1"),
               "depth_axis": "model.depth", "experiment": None, "statuses": ("done", "trained"), "min_points": 5,
               "epsilon": 0.01},
    "persistence": {"measure": "activation_persistence", "layer": "all", "axis": "auto", "n_grid": 64,
                    "experiment": None, "statuses": ("done", "trained")},
}


def test_kinds_are_found_and_listed_in_their_order():
    assert list_kinds() == ["gap_regression", "ranking", "regulariser_comparison", "training_dynamics", "layers",
                            "persistence"]
    orders = [get_kind(k).order for k in list_kinds()]
    assert orders == sorted(orders) and len(set(orders)) == len(orders)


def test_listing_the_kinds_imports_neither_plotting_nor_statsmodels():
    # manifests are validated against the kinds' options at every load: that must stay cheap
    code = ("import sys; from reports.kinds import list_kinds, kind_options; "
            "[kind_options(k, {}) for k in list_kinds()]; "
            "print(sorted(m for m in ('matplotlib', 'statsmodels') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).parents[2]).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("kind", list_kinds())
def test_kind_has_a_summary_and_documented_default_options(kind):
    spec = get_kind(kind)
    assert spec.name == kind and spec.options.kind == kind
    assert kind_summary(kind) and "\n" not in kind_summary(kind) and spec.title
    defaults = kind_options(kind, {})
    assert isinstance(defaults, KindOptions) and type(defaults) is spec.options
    assert defaults.model_dump() == DOCUMENTED_DEFAULTS[kind]
    for name in spec.options.model_fields:  # every option is described in the model's docstring
        assert re.search(rf"\b{name}\b", spec.options.__doc__), f"{kind}: option {name!r} is not documented"
    with pytest.raises(pydantic.ValidationError, match="frozen"):
        defaults.layer = "x"


@pytest.mark.parametrize("kind", list_kinds())
def test_kind_rejects_an_unknown_option_with_did_you_mean(kind):
    option = next(iter(get_kind(kind).options.model_fields))
    typo = option + "s"
    with pytest.raises(ReportOptionError, match=rf"unknown {kind} option '{typo}'; did you mean '{option}'") as exc:
        kind_options(kind, {typo: 1})
    assert exc.value.key == typo


@pytest.mark.parametrize("kind", list_kinds())
def test_kind_builds_html_and_latex_showing_its_title(kind, store, tmp_path):
    title = get_kind(kind).title
    paths = build_report(store, [kind], tmp_path, manifest_text="x = 1", title="Contract", catalog=CATALOG)
    assert {p.name for p in paths} >= {f"{kind}.html", f"{kind}.tex"}
    page = (tmp_path / f"{kind}.html").read_text(encoding="utf-8")
    tex = (tmp_path / f"{kind}.tex").read_text(encoding="utf-8")
    assert f"{html.escape(title)} (report <code>{kind}</code>)" in page
    assert latex_escape(title) in tex and tex.rstrip().endswith(r"\end{document}")
    assert all(p.exists() and p.stat().st_size > 0 for p in paths)


def test_lists_become_tuples_and_tables_become_families():
    cfg = kind_options("gap_regression", {"models": ["linear"], "min_runs": 4,
                                          "families": [{"name": "norms", "features": ["a", "b"]}]})
    assert cfg.models == ("linear",) and cfg.min_runs == 4
    assert cfg.families == (Family("norms", ("a", "b")),)
    ranking = kind_options("ranking", {"axes": ["model.depth"], "cmi_subset_sizes": [0, 1, 2]})
    assert ranking.axes == ("model.depth",) and ranking.cmi_subset_sizes == (0, 1, 2)


@pytest.mark.parametrize("kind, options, key, message", [
    ("layers", {"epsilon": 1.5}, "epsilon",
     r"^The 'epsilon' option of layers must be a float in the range \[0, 1\)\. Got 1\.5 instead\.$"),
    ("gap_regression", {"models": ["linear", "lasso"]}, "models",
     r"^The 'models' option of gap_regression must be a list of names in \['linear', 'ridge'\]\. "
     r"Got 'lasso' instead\.$"),
    ("regulariser_comparison", {"alpha": 0.0}, "alpha",
     r"^The 'alpha' option of regulariser_comparison must be a float in the range \(0, 1\)\. Got 0\.0 instead\.$"),
    ("persistence", {"n_grid": "many"}, "n_grid",
     r"^persistence option 'n_grid': Input should be a valid integer, unable to parse string as an integer$"),
    ("ranking", {"statuses": "done"}, "statuses",
     r"^The 'statuses' option of ranking must be a list, not a string\. Got 'done' instead\.$"),
])
def test_a_bad_value_is_rejected_naming_its_option(kind, options, key, message):
    with pytest.raises(ReportOptionError, match=message) as exc:
        kind_options(kind, options)
    assert exc.value.key == key
    assert exc.value.found == (options[key] if key == "n_grid" else ...)  # shown by the message otherwise


def test_every_problem_at_once_and_inside_a_family():
    with pytest.raises(ReportOptionError) as exc:
        kind_options("layers", {"epsilon": 2.0, "min_point": 3, "statistics": "cdnv"})
    assert sorted(e.key for e in exc.value.errors) == ["epsilon", "min_point", "statistics"]
    assert "did you mean 'min_points'" in str(exc.value)
    with pytest.raises(ReportOptionError, match="unknown gap_regression option 'families\\[0\\]' key 'feature'; "
                                                "did you mean 'features'") as exc:
        kind_options("gap_regression", {"families": [{"name": "norms", "feature": ["a"]}]})
    assert {e.key for e in exc.value.errors} == {"families"}
    with pytest.raises(ReportOptionError, match="'families\\[0\\]': Family 'e' must name at least one feature"):
        kind_options("gap_regression", {"families": [{"name": "e", "features": []}]})


def test_unknown_kind_suggests_the_closest():
    with pytest.raises(UnknownNameError, match="unknown report kind 'rankng'; did you mean 'ranking'"):
        check_kind("rankng")
    with pytest.raises(ValueError, match="did you mean 'layers'"):
        kind_options("layer", {})


def test_a_kind_registered_under_another_name_than_its_options_is_an_error():
    class Options(KindOptions):
        kind = "somewhere_else"

    with pytest.raises(ValueError, match="options model Options says kind 'somewhere_else'"):
        register_kind("mine", order=99, title="t", summary="s", options=Options)
