"""The report-kind registry: every kind has a summary and an options dataclass built from manifest values."""

import dataclasses

import pytest

from reports.families import Family
from reports.kinds import ReportOptionError, check_kind, kind_options, kind_summary, list_kinds


@pytest.mark.parametrize("kind", list_kinds())
def test_every_kind_has_a_summary_and_default_options(kind):
    import importlib

    from reports.kinds import KIND_MODULES

    module = importlib.import_module(KIND_MODULES[kind])
    assert kind_summary(kind) and "\n" not in kind_summary(kind)
    assert dataclasses.is_dataclass(module.CONFIG) and module.CONFIG() == module.CONFIG()
    assert kind_options(kind, {}) is None  # the kind's defaults


def test_lists_become_tuples_and_tables_become_families():
    cfg = kind_options("gap_regression", {"models": ["linear"], "min_runs": 4,
                                          "families": [{"name": "norms", "features": ["a", "b"]}]})
    assert cfg.models == ("linear",) and cfg.min_runs == 4
    assert cfg.families == (Family("norms", ("a", "b")),)
    ranking = kind_options("ranking", {"axes": ["model.depth"], "cmi_subset_sizes": [0, 1, 2]})
    assert ranking.axes == ("model.depth",) and ranking.cmi_subset_sizes == (0, 1, 2)


def test_unknown_option_and_bad_value_say_which():
    with pytest.raises(ReportOptionError, match="unknown regulariser_comparison option 'select_weights'; "
                                                "did you mean 'select_weight'") as exc:
        kind_options("regulariser_comparison", {"select_weights": True})
    assert exc.value.key == "select_weights"
    with pytest.raises(ReportOptionError, match="layers options: .*epsilon.*1.5") as exc:
        kind_options("layers", {"epsilon": 1.5})
    assert exc.value.key is None
    with pytest.raises(ReportOptionError, match=r"gap_regression options: .*unexpected keyword argument 'feature'"):
        kind_options("gap_regression", {"families": [{"name": "norms", "feature": ["a"]}]})
    with pytest.raises(ValueError, match="unknown report kind 'rankng'; did you mean 'ranking'"):
        check_kind("rankng")
