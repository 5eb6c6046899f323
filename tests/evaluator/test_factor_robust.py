"""Robustness of the general factor on synthetic surveys: a real factor survives every check, no factor
stays within the null, a task-means-only "factor" vanishes within tasks, a progress-only "factor" vanishes
once the covariates are partialled out."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from evaluator.factor import general_factor
from evaluator.factor_robust import (
    COVARIATES,
    centre_within,
    combined_verdict,
    correlation_matrix,
    factor_report,
    leave_one_group_out,
    partial_out,
)
from experiments.concepts import LETTERS
from tests.evaluator.survey_frames import survey_frame

FAST = {"n_bootstrap": 300, "n_null": 300, "loto_bootstrap": 50, "loto_null": 200}


def _est(report: dict, name: str) -> dict:
    return report["estimates"][name]


def test_a_real_common_factor_survives_every_check():
    report = factor_report(survey_frame("factor", 192), **FAST)
    for name in ("pooled_rank", "pooled_z", "within_task", "partialled"):
        assert _est(report, name)["ci_above_null"], name
    assert all(r["above_null"] for r in report["leave_one_task_out"])
    assert report["verdict_code"] == "general_factor"
    assert "evidence of a general factor" in report["verdict"]


def test_independent_columns_give_no_evidence_anywhere():
    report = factor_report(survey_frame("none", 96), **FAST)
    assert report["verdict_code"] == "no_evidence"
    for name in ("pooled_rank", "within_task", "partialled"):
        assert not _est(report, name)["above_null"], name


def test_a_factor_of_task_means_is_above_the_null_pooled_but_not_within_tasks():
    report = factor_report(survey_frame("task", 96), **FAST)
    assert _est(report, "pooled_rank")["ci_above_null"]
    assert not _est(report, "within_task")["above_null"]
    assert report["verdict_code"] == "task_only"
    assert "tells tasks apart" in report["verdict"] and "not evidence" in report["verdict"]


def test_a_factor_of_training_progress_vanishes_once_partialled_out():
    report = factor_report(survey_frame("covariate", 96), **FAST)
    assert _est(report, "pooled_rank")["ci_above_null"] and _est(report, "within_task")["above_null"]
    assert not _est(report, "partialled")["above_null"]
    assert report["verdict_code"] == "convergence_only"
    assert "how far training got" in report["verdict"]
    assert min(report["partial_info"]["r2"].values()) > 0.1


def test_without_covariates_the_verdict_does_not_claim_a_general_factor():
    frame = survey_frame("factor", 192).drop(columns=list(COVARIATES))
    report = factor_report(frame, **FAST)
    assert not _est(report, "partialled")["available"]
    assert report["verdict_code"] == "suggestive"
    assert "convergence is not excluded" in report["verdict"]


def test_too_few_rows_is_insufficient_data_and_lists_no_leave_one_out():
    report = factor_report(survey_frame("factor", 2, n_tasks=2), **FAST)
    assert report["verdict_code"] == "insufficient_data" and report["leave_one_task_out"] == []
    assert report["n_cells"] == 16


def test_missing_cells_are_counted_over_the_whole_matrix():
    frame = survey_frame("factor", 60, missing=0.1, seed=3)
    report = factor_report(frame, **FAST)
    assert report["n_missing_cells"] == int(frame[list(LETTERS)].isna().sum().sum()) > 0
    assert report["tasks"] == {f"task{t}": 15 for t in range(4)}


def test_centre_within_removes_every_task_mean_and_blanks_single_cells():
    frame = pd.DataFrame({"A": [1.0, 2.0, 10.0, 11.0, 5.0], "B": [3.0, np.nan, 0.0, 4.0, 9.0]})
    groups = ["x", "x", "y", "y", "z"]
    out = centre_within(frame, groups, transform="zscore")
    z_a = (frame["A"] - frame["A"].mean()) / frame["A"].std(ddof=0)
    np.testing.assert_allclose(out["A"].iloc[:4], [z_a[0] - z_a[:2].mean(), z_a[1] - z_a[:2].mean(),
                                                   z_a[2] - z_a[2:4].mean(), z_a[3] - z_a[2:4].mean()])
    assert out["A"].isna().tolist() == [False, False, False, False, True]  # z has one row
    assert out["B"].isna().tolist() == [True, True, False, False, True]  # x has one observed B
    np.testing.assert_allclose(out.groupby(groups).mean().dropna().to_numpy(), 0.0, atol=1e-12)


def test_partial_out_matches_a_per_column_least_squares_fit():
    rng = np.random.default_rng(5)
    cov = pd.DataFrame({"c1": rng.normal(size=50), "c2": rng.normal(size=50)})
    frame = pd.DataFrame({"A": 2 * cov["c1"] + rng.normal(size=50), "B": rng.normal(size=50)})
    frame.loc[[3, 7], "A"] = np.nan
    resid, info = partial_out(frame, cov, transform="zscore")
    ok = frame["A"].notna().to_numpy()
    z = ((frame["A"] - frame["A"].mean()) / frame["A"].std(ddof=0)).to_numpy()[ok]
    zc = ((cov - cov.mean()) / cov.std(ddof=0)).to_numpy()[ok]
    x = np.column_stack([np.ones(ok.sum()), zc])
    beta, *_ = np.linalg.lstsq(x, z, rcond=None)
    np.testing.assert_allclose(resid["A"].to_numpy()[ok], z - x @ beta, atol=1e-10)
    assert resid["A"].isna().sum() == 2
    assert info["covariates"] == ["c1", "c2"] and info["r2"]["A"] > 0.6 > 0.2 > info["r2"]["B"]


def test_partial_out_imputes_and_counts_missing_covariates_and_drops_constant_ones():
    rng = np.random.default_rng(6)
    cov = pd.DataFrame({"c1": rng.normal(size=30), "flat": 1.0})
    cov.loc[[0, 1, 2], "c1"] = np.nan
    resid, info = partial_out(pd.DataFrame({"A": rng.normal(size=30)}), cov)
    assert info["n_imputed"] == 3 and info["dropped"] == ["flat"] and np.isfinite(resid["A"]).all()


def test_correlation_matrix_correlates_column_ranks_over_common_rows():
    frame = survey_frame("factor", 80, missing=0.15, seed=2)[list(LETTERS)]
    corr = correlation_matrix(frame)
    ranks = frame.rank()  # each column over its own observed cells, as the factor analysis ranks it
    both = ranks[["A", "B"]].dropna()
    assert corr["n_pairs"][0][1] == len(both)
    assert corr["matrix"][0][1] == pytest.approx(stats.pearsonr(both["A"], both["B"]).statistic, abs=1e-12)
    assert corr["matrix"][2][2] == 1.0
    full = survey_frame("factor", 50, seed=4)[list(LETTERS)]
    assert correlation_matrix(full)["matrix"][0][3] == pytest.approx(
        stats.spearmanr(full["A"], full["D"]).statistic, abs=1e-12)


def test_leave_one_group_out_drops_each_task_once():
    frame = survey_frame("factor", 40)
    rows = leave_one_group_out(frame[list(LETTERS)], frame["task"], n_bootstrap=20, n_null=50)
    assert [r["left_out"] for r in rows] == ["task0", "task1", "task2", "task3"]
    assert all(r["n_left_out"] == 10 and r["n_rows"] == 30 for r in rows)


def test_combined_verdict_keeps_a_pooled_no_evidence():
    report = factor_report(survey_frame("none", 60), **FAST)
    pooled = general_factor(survey_frame("none", 60)[list(LETTERS)], n_bootstrap=300, n_null=300)
    assert combined_verdict(pooled=pooled, estimates=report["estimates"], loto=[])[0] == "no_evidence"


@pytest.mark.parametrize(("call", "message"), [
    (lambda: factor_report(np.zeros((3, 8))), "DataFrame"),
    (lambda: factor_report(pd.DataFrame({"A": [1.0]})), "lacks the column"),
    (lambda: centre_within(pd.DataFrame({"A": [1.0, 2.0]}), ["x"]), "1 labels for 2 rows"),
    (lambda: centre_within(pd.DataFrame({"A": [1.0, 2.0]}), ["x", None]), "missing label"),
    (lambda: centre_within(pd.DataFrame({"A": ["a", "b"]}), ["x", "y"]), "must hold numbers"),
    (lambda: centre_within(pd.DataFrame({"A": [1.0, 2.0]}), ["x", "y"], transform="log"), "transform"),
    (lambda: partial_out(pd.DataFrame({"A": [1.0, 2.0]}), pd.DataFrame({"c": [1.0]})), "1 rows for 2"),
    (lambda: partial_out(pd.DataFrame({"A": [1.0, np.inf]}), pd.DataFrame({"c": [1.0, 2.0]})), "infinite"),
])
def test_invalid_inputs_raise(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_every_verdict_code_has_a_page_label():
    from evaluator.factor_robust import VERDICT_CODES
    from evaluator.views import VERDICT_LABELS

    assert set(VERDICT_LABELS) == set(VERDICT_CODES)
    for kind in ("factor", "none", "task", "covariate"):
        assert factor_report(survey_frame(kind, 40), **FAST)["verdict_code"] in VERDICT_CODES
