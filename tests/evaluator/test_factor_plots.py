"""SVG plots of the factor page's robustness section: well-formed, escaped, empty states, and the marks
that carry the message (red where an estimate does not beat its null, one colour per task)."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from evaluator import factor_plots
from evaluator.factor_robust import factor_report
from evaluator.selectors import _records
from experiments.concepts import LETTERS
from tests.evaluator.survey_frames import survey_frame

NS = "{http://www.w3.org/2000/svg}"
FAST = {"n_bootstrap": 100, "n_null": 100, "loto_bootstrap": 20, "loto_null": 50}


def _svg(text: str) -> ET.Element:
    root = ET.fromstring(text)
    assert root.tag == f"{NS}svg"
    return root


def test_every_factor_plot_is_well_formed_with_and_without_data():
    frame = survey_frame("task", 40)
    report = factor_report(frame, **FAST)
    rows = _records(frame)
    pooled = report["estimates"]["pooled_rank"]
    for svg in (
        factor_plots.estimates_svg(report["estimates"]), factor_plots.estimates_svg({}),
        factor_plots.loto_svg(report["leave_one_task_out"], pooled_share=pooled["pc1_share"],
                              pooled_null=pooled["null_p95"]),
        factor_plots.loto_svg([], pooled_share=None, pooled_null=None),
        factor_plots.correlation_svg(report["correlation"]), factor_plots.correlation_svg({}),
        factor_plots.scatter_matrix_svg(rows, list(LETTERS)), factor_plots.scatter_matrix_svg([], list(LETTERS)),
    ):
        _svg(svg)


def test_an_estimate_within_its_null_is_drawn_red_and_one_above_blue():
    report = factor_report(survey_frame("task", 48), **FAST)
    root = _svg(factor_plots.estimates_svg(report["estimates"]))
    dots = {c.find(f"{NS}title").text.split(":")[0]: c.get("fill") for c in root.iter(f"{NS}circle")}
    assert dots["all rows, ranks"] == "#3056d3" and dots["within tasks"] == "#c0392b"


def test_scatter_matrix_colours_points_by_task_and_escapes_task_names():
    frame = survey_frame("none", 12, n_tasks=3)
    frame["task"] = frame["task"].replace({"task0": "<b>x</b>"})
    svg = factor_plots.scatter_matrix_svg(_records(frame), list(LETTERS))
    root = _svg(svg)
    assert "<b>" not in svg and "&lt;b&gt;" in svg
    paths = [p for p in root.iter(f"{NS}path") if p.get("class") == "dots"]
    assert sum(p.get("d").count("M") for p in paths) == 12 * 28  # every row in every panel below the diagonal
    assert len({p.get("stroke") for p in paths}) == 3


def test_correlation_cells_carry_sign_colour_and_missing_pairs():
    corr = {"columns": ["A", "B", "C"], "matrix": [[1.0, -0.8, None], [-0.8, 1.0, 0.5], [None, 0.5, 1.0]],
            "n_pairs": [[5, 5, 1], [5, 5, 5], [1, 5, 5]]}
    root = _svg(factor_plots.correlation_svg(corr))
    tips = {r.find(f"{NS}title").text: r.get("fill") for r in root.iter(f"{NS}rect")}
    def rgb(fill: str) -> tuple[int, ...]:
        return tuple(int(v) for v in fill[4:-1].split(","))

    negative, positive = rgb(tips["A–B: r = -0.80 over 5 rows"]), rgb(tips["B–C: r = 0.50 over 5 rows"])
    assert negative == (205, 97, 85)  # 80% of the way from white to red (192, 57, 43)
    assert positive[2] > positive[0] and min(positive) > min(rgb(tips["A–A: r = 1.00 over 5 rows"]))
    assert tips["A–C: fewer than 3 common rows"] == "#f2f4f7"
