"""The one SVG chart module (experiments/charts.py): well-formed XML, escaped text, empty states."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

from evaluator.calibration import calibration_summary
from experiments import charts


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)


def test_every_plot_is_well_formed_with_and_without_data():
    bins = calibration_summary([1, 0, 1, 1], [0.9, 0.2, 0.6, 0.8])["bins"]
    svgs = [
        charts.calibration_svg(bins), charts.calibration_svg([]),
        charts.scree_svg([3.1, 1.2, 0.9, 0.5], [1.9, 1.4, 1.1, 0.9]), charts.scree_svg([], []),
        charts.loadings_svg({"A": 0.7, "B": -0.2}, {"A": [0.5, 0.9], "B": [-0.6, 0.3]},
                            {"A": 0.6, "B": -0.1}),
        charts.loadings_svg({}, {}),
        charts.heatmap_svg([{"setup": "s1", "A": 0.1, "B": None}, {"setup": "s2", "A": 0.4, "B": 2.0}],
                           ["A", "B"]),
        charts.heatmap_svg([], ["A"]),
        charts.score_history_svg([{"market_id": 1, "title": "t", "peer": 12.0},
                                  {"market_id": 2, "peer": -30.0}]),
        charts.score_history_svg([]),
    ]
    for svg in svgs:
        assert _parse(svg).tag.endswith("svg")


def test_text_from_users_is_escaped():
    hostile = "<script>alert(1)</script>&"
    svg = charts.heatmap_svg([{"setup": hostile, "A": 1.0}, {"setup": "x", "A": 2.0}], ["A"])
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    svg = charts.score_history_svg([{"market_id": 1, "title": hostile, "peer": 5.0}])
    assert "<script>" not in svg
    _parse(svg)


def test_calibration_points_outside_their_band_are_marked():
    # Ten forecasts of 0.9 that all failed: far outside the band of a calibrated forecaster.
    bins = calibration_summary([0] * 10, [0.9] * 10)["bins"]
    assert "#c0392b" in charts.calibration_svg(bins)


def test_price_and_ci_charts_are_well_formed_and_escape_their_labels():
    start = datetime(2026, 1, 1, tzinfo=UTC)
    history = [{"time": start + timedelta(hours=h), "probability": p}
               for h, p in ((0, 0.5), (2, 0.7), (5, 0.4))]
    svg = charts.price_chart_svg(history, community=history[:2])
    root = _parse(svg)
    assert root.get("class") == "price-chart" and "now 40.0%" in root.get("aria-label")
    assert 'stroke="#138a4b"' in svg and "community aggregate" in svg
    assert charts.price_chart_svg([]) == ""
    hostile = "<img src=x onerror=alert(1)>"
    rows = [charts.Interval(hostile, 0.4, 0.3, 0.5), charts.Interval("verify", None, None, None)]
    svg = charts.ci_chart_svg(rows, threshold=0.35, comparator=">=")
    assert _parse(svg).get("class") == "ci-chart"
    assert "<img" not in svg and "&lt;img" in svg
    assert "no finite interval" in svg and "YES side (&gt;= 0.35)" in svg
    assert charts.ci_chart_svg([], threshold=0.3, comparator=">=") == ""
