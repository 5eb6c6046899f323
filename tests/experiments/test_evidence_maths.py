"""The pure maths of "Evidence so far": distances, nearest settings, the threshold's place, the warning."""

import math

import numpy as np
import pytest

from experiments.evidence import maths, space
from experiments.evidence.chart import evidence_svg


def test_distance_is_the_rms_over_shared_coordinates_plus_variant_mismatches():
    target = np.array([0.5, 0.5, np.nan])
    points = np.array([[0.5, 0.5, 0.1], [0.8, 0.1, 0.0], [np.nan, 0.9, 0.3], [np.nan, np.nan, 0.2]])
    d = maths.setting_distances(target, points, mismatches=np.array([0, 0, 1, 0]))
    assert d[0] == 0.0
    assert d[1] == pytest.approx(math.sqrt((0.3**2 + 0.4**2) / 2))
    assert d[2] == pytest.approx(0.4 + 1.0)  # one shared coordinate, one differing variant
    assert d[3] == math.inf  # nothing shared: never "near"


def test_nearest_takes_the_k_smallest_finite_distances_in_order_ties_stable():
    d = np.array([0.3, np.inf, 0.1, 0.3, 0.2])
    assert maths.nearest(d, k=3).tolist() == [2, 4, 0]
    assert maths.nearest(d, k=10).tolist() == [2, 4, 0, 3]
    with pytest.raises(ValueError, match="k must be at least 1"):
        maths.nearest(d, k=0)


@pytest.mark.parametrize(
    ("comparator", "lo", "hi", "side"),
    [
        (">=", 0.03, 0.05, "yes"),
        (">=", 0.01, 0.029, "no"),
        (">=", 0.02, 0.04, "straddles"),
        (">", 0.03, 0.05, "straddles"),
        ("<=", 0.01, 0.03, "yes"),
        ("<", 0.01, 0.03, "straddles"),
        ("<", 0.031, 0.04, "no"),
        (">=", math.nan, 0.04, ""),
    ],
)
def test_ci_sides_follow_the_decision_rule(comparator, lo, hi, side):
    assert maths.ci_sides(np.array([lo]), np.array([hi]), comparator, 0.03).tolist() == [side]


def test_summary_places_the_threshold_among_the_values():
    values = np.array([0.01, 0.02, 0.04, 0.05, 0.06, np.nan])
    s = maths.summarize(
        values, comparator=">=", threshold=0.03, ci_low=values - 0.005, ci_high=values + 0.005
    )
    assert (s.n, s.n_yes, s.share_yes) == (5, 3, pytest.approx(0.6))
    assert s.threshold_quantile == pytest.approx(0.4)
    assert (s.minimum, s.median, s.maximum, s.threshold_position) == (0.01, 0.04, 0.06, "inside")
    assert (s.ci_yes, s.ci_no, s.ci_straddles) == (3, 2, 0)
    below = maths.summarize(values, comparator="<", threshold=0.03)
    assert (below.n_yes, below.share_yes) == (2, pytest.approx(0.4))
    assert maths.headline(s, statistic="dis_ood", comparator=">=", threshold=0.03).startswith(
        "60% of the 5 nearest settings have dis_ood ≥ 0.03 (the YES side)"
    )


def test_summary_of_nothing_is_none_and_a_bad_threshold_is_refused():
    assert maths.summarize(np.array([np.nan]), comparator=">=", threshold=0.1) is None
    assert maths.summarize(np.array([]), comparator=">=", threshold=0.1) is None
    with pytest.raises(ValueError, match="threshold"):
        maths.summarize(np.array([0.1]), comparator=">=", threshold=math.inf)


def _warning(values, comparator=">=", threshold=0.03):
    s = maths.summarize(np.array(values), comparator=comparator, threshold=threshold)
    return maths.foregone_warning(s, statistic="dis_ood", comparator=comparator, threshold=threshold)


def test_a_threshold_outside_the_observed_range_warns():
    w = _warning([0.0, 0.0, 0.001, 0.002, 0.004], threshold=0.02)
    assert w.code == "outside_range"
    assert "above the highest" in w.message and "foregone NO" in w.message
    assert _warning([0.2, 0.3, 0.4, 0.5, 0.6], comparator=">", threshold=0.1).code == "outside_range"


def test_a_one_sided_distribution_warns_and_a_balanced_one_does_not():
    w = _warning([0.01] + [0.05] * 19)
    assert w.code == "one_sided" and w.message.startswith(
        "95% of the 20 nearest settings are on the YES side"
    )
    assert _warning([0.01] * 2 + [0.05] * 18) is None  # 90%: not foregone
    assert _warning([0.01, 0.02, 0.04, 0.05, 0.06]) is None


def test_too_few_rows_never_warn():
    assert _warning([0.0, 0.0, 0.0, 0.0], threshold=0.5) is None
    assert maths.foregone_warning(None, statistic="x", comparator=">=", threshold=1.0) is None


def test_axes_use_the_survey_range_on_a_log_scale_for_log_ish_parameters():
    axes = {a.name: a for a in space.task_axes("digits")}
    assert set(axes) >= {"lr", "steps", "width", "noise", "weight_decay", "batch_size"}
    assert "optimizer" not in axes  # categorical
    lr = axes["lr"]
    assert (lr.low, lr.high, lr.log, lr.source) == (3e-4, 3e-3, True, "survey")
    assert lr.unit(math.sqrt(3e-4 * 3e-3)) == pytest.approx(0.5)  # geometric middle
    assert axes["noise"].unit(0.35) == pytest.approx(0.5) and not axes["noise"].log
    assert math.isnan(lr.unit("adam")) and math.isnan(lr.unit(0.0))
    outside = space.outside(list(axes.values()), {"steps": 1500, "noise": 0.3, "width": 128})
    assert {o["name"] for o in outside} == {"steps", "width"}


def test_a_task_the_survey_does_not_cover_uses_the_registry_bounds():
    axes = space.task_axes("modadd")
    assert axes and all(a.source == "registry" for a in axes)
    assert space.protocol_variants("lms", {"change": "one_ulp", "n_boot": 300, "steps": 10}) == {
        "change": "one_ulp"
    }


def test_the_strip_escapes_text_and_draws_the_threshold():
    evidence = {
        "threshold": 0.03,
        "statistic": "dis_ood",
        "comparator": ">=",
        "rows": [
            {
                "value": 0.01,
                "side": "no",
                "source": "survey",
                "campaign": "<script>x</script>",
                "row": 1,
                "setup": "a",
            },
            {"value": 0.05, "side": "yes", "source": "run", "run_id": 7, "setup": "b&c"},
        ],
    }
    svg = evidence_svg(evidence)
    assert svg.startswith("<svg") and "<script>" not in svg and "&lt;script&gt;" in svg and "b&amp;c" in svg
    assert "threshold 0.03" in svg and svg.count("<circle") == 1 and svg.count("<path") == 1
    assert "style=" not in svg
    assert evidence_svg({**evidence, "rows": []}) == ""
