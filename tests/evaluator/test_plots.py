"""Inline SVG plots: well-formed XML, escaped text, empty states."""
from __future__ import annotations

import xml.etree.ElementTree as ET

from evaluator import plots
from evaluator.calibration import calibration_summary


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_every_plot_is_well_formed_with_and_without_data():
    bins = calibration_summary([1, 0, 1, 1], [0.9, 0.2, 0.6, 0.8])["bins"]
    svgs = [
        plots.calibration_svg(bins), plots.calibration_svg([]),
        plots.scree_svg([3.1, 1.2, 0.9, 0.5], [1.9, 1.4, 1.1, 0.9]), plots.scree_svg([], []),
        plots.loadings_svg({"A": 0.7, "B": -0.2}, {"A": [0.5, 0.9], "B": [-0.6, 0.3]}, {"A": 0.6, "B": -0.1}),
        plots.loadings_svg({}, {}),
        plots.heatmap_svg([{"setup": "s1", "A": 0.1, "B": None}, {"setup": "s2", "A": 0.4, "B": 2.0}], ["A", "B"]),
        plots.heatmap_svg([], ["A"]),
        plots.score_history_svg([{"market_id": 1, "title": "t", "peer": 12.0}, {"market_id": 2, "peer": -30.0}]),
        plots.score_history_svg([]),
    ]
    for svg in svgs:
        assert _parse(svg).tag.endswith("svg")


def test_text_from_users_is_escaped():
    hostile = "<script>alert(1)</script>&"
    svg = plots.heatmap_svg([{"setup": hostile, "A": 1.0}, {"setup": "x", "A": 2.0}], ["A"])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    svg = plots.score_history_svg([{"market_id": 1, "title": hostile, "peer": 5.0}])
    assert "<script>" not in svg
    _parse(svg)


def test_calibration_points_outside_their_band_are_marked():
    # Ten forecasts of 0.9 that all failed: far outside the band of a calibrated forecaster.
    bins = calibration_summary([0] * 10, [0.9] * 10)["bins"]
    assert "#c0392b" in plots.calibration_svg(bins)
