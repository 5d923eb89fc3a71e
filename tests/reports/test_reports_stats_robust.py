"""reports.stats.robust: the robust sign-error of Dziugaite et al. 2020 on a design computed by hand.

Two axes a, b in {0, 1}; runs (a, b, measure, gap):

    r0 (0, 0, 1, 0.1)   r1 (1, 0, 2, 0.3)   r2 (0, 1, 3, 0.2)   r3 (1, 1, 0, 0.4)   r4 (1, 1, 3, 0.5)

r4 replicates r3's configuration. Environments and the sign-error (1 - sign(dC) sign(dg)) / 2
of their pairs:

- a varies, b=0: (r0, r1) dC +1, dg +0.2 -> 0; mean 0
- a varies, b=1: (r2, r3) dC -3, dg +0.2 -> 1; (r2, r4) dC 0 -> 1/2; mean 3/4
- b varies, a=0: (r0, r2) dC +2, dg +0.1 -> 0; mean 0
- b varies, a=1: (r1, r3) dC -2, dg +0.1 -> 1; (r1, r4) dC +1, dg +0.2 -> 0; mean 1/2

(r3, r4) share every axis: never a pair. Robust sign-error 3/4 (a varies, b=1); mean
over environments (0 + 3/4 + 0 + 1/2) / 4 = 5/16; 6 pairs.
"""

from __future__ import annotations

import numpy as np
import pytest

from reports.stats.robust import robust_sign_error

MEASURE = [1.0, 2.0, 3.0, 0.0, 3.0]
GAP = [0.1, 0.3, 0.2, 0.4, 0.5]
AXES = {"a": [0, 1, 0, 1, 1], "b": [0, 0, 1, 1, 1]}


def test_hand_computed_design():
    r = robust_sign_error(MEASURE, GAP, AXES)
    assert r.max == pytest.approx(0.75) and r.mean == pytest.approx(5 / 16)
    assert (r.n_environments, r.n_pairs) == (4, 6)
    assert r.worst == "a varies; b=1 (2 pairs)"
    assert sorted((a, s, round(e, 6), n) for a, s, e, n in r.by_environment) == [
        ("a", "b=0", 0.0, 1), ("a", "b=1", 0.75, 2), ("b", "a=0", 0.0, 1), ("b", "a=1", 0.5, 2)]


def test_gap_tolerance_drops_pairs_whose_gaps_barely_differ():
    # |dg| <= 0.15 drops (r0, r2) and (r1, r3): environment "b varies, a=0" is empty
    r = robust_sign_error(MEASURE, GAP, AXES, gap_tolerance=0.15)
    assert (r.max, r.n_environments, r.n_pairs) == (pytest.approx(0.75), 3, 4)
    assert r.mean == pytest.approx(0.25)


def test_the_worst_case_is_not_the_average():
    # the gap itself, but r3 moved below everyone: wrong on (r2, r3) and (r1, r3) only, so the two
    # environments holding r3 score 1/2 and the others 0: the mean (1/4) halves the worst case
    measure = np.array(GAP) * 10
    measure[3] = -5.0
    r = robust_sign_error(measure, GAP, AXES)
    assert (r.max, r.mean) == (pytest.approx(0.5), pytest.approx(0.25))


def test_edge_cases_and_errors():
    assert robust_sign_error(GAP, GAP, AXES).max == 0.0  # the gap predicts itself
    assert robust_sign_error([-g for g in GAP], GAP, AXES).max == 1.0
    empty = robust_sign_error([1.0, 2.0], [0.1, 0.2], {"a": [0, 0]})  # no pair differs in a
    assert np.isnan(empty.max) and empty.n_environments == 0
    one = robust_sign_error([1.0, 2.0], [0.1, 0.2], {"a": ["x", "y"]})
    assert one.worst == "a varies; (no other axis) (1 pair)" and one.max == 0.0
    with pytest.raises(ValueError, match="at least one"):
        robust_sign_error(MEASURE, GAP, {})
    with pytest.raises(ValueError, match="gap_tolerance"):
        robust_sign_error(MEASURE, GAP, AXES, gap_tolerance=-1)
    with pytest.raises(ValueError, match="finite"):
        robust_sign_error([np.nan, 1, 2, 3, 4], GAP, AXES)
