"""setting_evidence on hand-made survey rows and resolved runs: which rows are nearest, the share on
each side of the threshold, what is left out, and the empty case."""

import pytest

from experiments.evidence.selectors import setting_evidence
from experiments.models import ExperimentRun
from market.services.runs import market_run_link
from tests.experiments.evidence_support import digits_row, survey_rows
from tests.market.factories import MarketFactory

pytestmark = pytest.mark.django_db

DIGITS_A = {
    "concept": "A",
    "task": "digits",
    "arch": "mlp",
    "params": {
        "batch_size": 64,
        "depth": 2,
        "init_scale": 1.0,
        "lr": 1e-3,
        "noise": 0.3,
        "optimizer": "adam",
        "steps": 300,
        "weight_decay": 0.0,
        "width": 32,
        "n_boot": 1000,
        "confidence": 0.95,
    },
}


def _evidence(threshold=0.03, comparator=">=", spec=DIGITS_A, **kw):
    return setting_evidence(
        spec=spec, statistic=kw.pop("statistic", "dis_ood"), comparator=comparator, threshold=threshold, **kw
    )


def test_the_nearest_rows_are_those_closest_in_the_surveyed_parameters():
    # 12 rows spread over noise 0.1…0.6; the value encodes the noise so the choice is visible
    survey_rows(
        [
            digits_row(round(n / 10, 3), noise=n)
            for n in (0.1, 0.15, 0.2, 0.25, 0.28, 0.3, 0.33, 0.35, 0.4, 0.5, 0.55, 0.6)
        ]
    )
    ev = _evidence(k=5)
    assert [r["params"]["noise"] for r in ev["rows"]] == [0.3, 0.28, 0.33, 0.25, 0.35]
    assert ev["rows"][0]["distance"] == 0.0
    assert [r["distance"] for r in ev["rows"]] == sorted(r["distance"] for r in ev["rows"])
    assert ev["n_candidates"] == 12 and ev["all_rows"]["n"] == 12
    assert "log scale for" in ev["nearness"]["text"] and "lr" in ev["nearness"]["text"]


def test_log_scale_distance_treats_a_factor_of_lr_alike_both_ways():
    survey_rows([digits_row(0.1, lr=5e-4), digits_row(0.2, lr=2e-3), digits_row(0.3, lr=1.2e-3)])
    rows = _evidence(k=3)["rows"]
    by_lr = {r["params"]["lr"]: r["distance"] for r in rows}
    # half and double the market's lr are equally far (on a linear scale double would be twice as far)
    assert by_lr[1.2e-3] < by_lr[5e-4] == pytest.approx(by_lr[2e-3])


def test_the_share_on_the_yes_side_and_the_threshold_quantile():
    survey_rows(
        [
            digits_row(v, noise=0.3 + i / 1000, ci=(v - 0.006, v + 0.006))
            for i, v in enumerate([0.01, 0.02, 0.025, 0.035, 0.04, 0.05, 0.06, 0.07])
        ]
    )
    ev = _evidence(threshold=0.03)
    s = ev["summary"]
    assert (s["n"], s["n_yes"], s["share_yes"], s["threshold_quantile"]) == (8, 5, 0.625, 0.375)
    assert (s["ci_yes"], s["ci_no"], s["ci_straddles"]) == (4, 2, 2)
    assert ev["headline"].startswith("62% of the 8 nearest settings have dis_ood ≥ 0.03")
    assert ev["warning"] is None
    assert {r["side"] for r in ev["rows"] if r["value"] < 0.03} == {"no"}
    below = _evidence(threshold=0.03, comparator="<")["summary"]
    assert (below["n_yes"], below["share_yes"]) == (3, 0.375)


def test_a_threshold_beyond_every_nearby_value_warns():
    survey_rows([digits_row(0.0, noise=0.3 + i / 100) for i in range(6)])
    ev = _evidence(threshold=0.02)
    assert ev["warning"]["code"] == "outside_range"
    assert ev["summary"]["threshold_position"] == "above"


def test_other_tasks_archs_concepts_unfinished_cells_and_repeats_are_left_out():
    survey_rows(
        [
            digits_row(0.05),
            digits_row(0.5, status="pending"),
            digits_row(0.9, concept="C"),
            {"task": "lms", "params": {"noise": 0.3}, "value": 0.7},
        ],
        name="older",
    )
    survey_rows([digits_row(0.06), digits_row(0.07, arch="cnn")], name="newer")
    ev = _evidence()
    assert [(r["campaign"], r["value"]) for r in ev["rows"]] == [("newer", 0.06)]  # same setting: newest wins
    assert ev["arch_matched"] is True


def test_another_architecture_stands_in_when_none_of_the_market_s_is_measured():
    survey_rows([digits_row(0.05), digits_row(0.06, noise=0.4)])
    ev = _evidence(spec={**DIGITS_A, "arch": "cnn"})
    assert ev["arch_matched"] is False and ev["summary"]["n"] == 2
    assert "none measured, so other architectures" in ev["nearness"]["text"]


def test_a_statistic_other_than_the_concept_s_is_read_from_the_details():
    survey_rows([digits_row(0.0, details={"behaviour_spread": 0.12}), digits_row(0.0, noise=0.4)])
    ev = _evidence(statistic="behaviour_spread", threshold=0.1)
    assert [r["value"] for r in ev["rows"]] == [0.12] and ev["rows"][0]["ci_low"] is None


def test_resolved_runs_count_but_not_the_market_s_own_or_a_dry_run():
    survey_rows([digits_row(0.05)])
    market = MarketFactory()
    spec = {**DIGITS_A, "params": {**DIGITS_A["params"], "noise": 0.31}}
    common = {"status": "succeeded", "statistic_name": "dis_ood", "ci_low": 0.01, "ci_high": 0.03}
    other = ExperimentRun.objects.create(spec=spec, spec_sha256="a" * 64, statistic=0.02, **common)
    own = ExperimentRun.objects.create(spec=spec, spec_sha256="b" * 64, statistic=0.9, **common)
    for run in (other, own):
        market_run_link(market_id=market.pk, run=run)
    ExperimentRun.objects.create(purpose="dry_run", spec=spec, spec_sha256="c" * 64, statistic=0.8, **common)
    ev = _evidence(exclude_spec_sha256="b" * 64)
    runs = [r for r in ev["rows"] if r["source"] == "run"]
    assert [(r["run_id"], r["value"], r["url"]) for r in runs] == [
        (other.pk, 0.02, f"/api/v1/runs/{other.pk}/")
    ]
    assert ev["n_runs"] == 1 and ev["n_survey"] == 1
    assert runs[0]["ci_side"] == "straddles"


def test_a_task_the_survey_does_not_cover_says_so():
    survey_rows([digits_row(0.05)])
    spec = {
        "concept": "A",
        "task": "modadd",
        "arch": "transformer",
        "params": {"p": 31, "alpha": 1.0, "steps": 500},
    }
    ev = _evidence(spec=spec)
    assert ev["summary"] is None and ev["rows"] == [] and ev["warning"] is None
    assert ev["message"].startswith("No survey rows for modadd yet")
    assert ev["headline"] == ""


def test_a_protocol_variant_the_rows_did_not_measure_is_named():
    survey_rows(
        [{"task": "lms", "params": {"n_slab": 8, "margin": 0.1}, "value": 0.9, "concept": "B"}], concept="B"
    )
    spec = {
        "concept": "B",
        "task": "lms",
        "arch": "mlp",
        "params": {"n_slab": 8, "margin": 0.1, "change": "one_ulp"},
    }
    ev = _evidence(spec=spec, statistic="dis_ratio", threshold=0.5)
    assert ev["variants"]["question"] == {"change": "one_ulp"}
    assert ev["variants"]["evidence_differs"] == ["change=None"]
    assert ev["rows"][0]["distance"] == pytest.approx(1.0)


def test_a_question_about_no_single_setting_gets_an_empty_panel_not_an_error():
    survey_rows([digits_row(0.05)])
    spec = {"concept": "A", "campaign": {"rows": 96}, "params": {}}
    ev = _evidence(spec=spec, statistic="pc1_share", threshold=0.3)
    assert ev["summary"] is None and ev["rows"] == [] and ev["warning"] is None
    assert "not about one trained setting" in ev["message"]


def test_a_row_s_stored_setting_key_is_the_one_shown():
    from experiments.survey.models import SurveyRow

    survey_rows([digits_row(0.05)])
    SurveyRow.objects.update(setup="digits/mlp/stored-key")
    assert _evidence()["rows"][0]["setup"] == "digits/mlp/stored-key"
