"""Evaluator API (docs/evaluator.md, "API"): field names, filters, errors."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_leaderboard_rows_have_the_contract_fields(client, resolved_markets):
    data = client.get("/api/v1/leaderboard/").json()
    assert data["count"] == 3 and data["n_markets"] == 3
    row = data["results"][0]
    assert {"user", "peer_score", "ci_low", "ci_high", "n_markets"} <= set(row)
    by_user = {r["user"]: r for r in data["results"]}
    assert by_user["alice"]["n_markets"] == 3 and by_user["bob"]["n_markets"] == 2
    assert by_user["alice"]["ci_low"] <= by_user["alice"]["peer_score"] <= by_user["alice"]["ci_high"]
    assert by_user["bob"]["ci_low"] <= by_user["bob"]["peer_score"] <= by_user["bob"]["ci_high"]
    assert {r["kind"] for r in data["reference"]} == {"market_price", "community"}


def test_leaderboard_concept_filter_and_validation(client, resolved_markets):
    data = client.get("/api/v1/leaderboard/?concept=c").json()
    assert {r["user"] for r in data["results"]} == {"alice", "carol"}
    bad = client.get("/api/v1/leaderboard/?concept=Z")
    assert bad.status_code == 400
    assert "concept" in bad.json()["errors"] and bad.json()["detail"]


def test_leaderboard_is_empty_on_a_new_site(client, db):
    data = client.get("/api/v1/leaderboard/").json()
    assert data["count"] == 0 and data["results"] == [] and data["reference"] == []


def test_factor_has_the_contract_fields(client, factor_cells):
    data = client.get("/api/v1/factor/").json()
    assert {"n_setups", "matrix", "pc1_share", "pc1_ci", "null_p95", "loadings", "verdict"} <= set(data)
    assert data["n_setups"] == 40 and len(data["matrix"]) == 40
    assert set(data["matrix"][0]) == {"setup", "task", "arch", *"ABCDEFGH", "source"}
    assert data["n_missing"] == sum(1 for r in data["matrix"] for c in "ABCDEFGH" if r[c] is None)
    assert data["pc1_ci"][0] <= data["pc1_share"] <= data["pc1_ci"][1]
    assert data["pc1_share"] > data["null_p95"]
    assert set(data["loadings"]) == set("ABCDEFGH")


def test_factor_on_an_empty_site(client, db):
    data = client.get("/api/v1/factor/").json()
    assert data["n_setups"] == 0 and data["matrix"] == [] and data["pc1_share"] is None
    assert data["verdict_code"] == "insufficient_data"


def test_user_calibration(client, resolved_markets):
    data = client.get("/api/v1/users/alice/calibration/").json()
    assert data["username"] == "alice" and data["n"] == 3
    assert len(data["bins"]) == 10 and sum(b["count"] for b in data["bins"]) == 3
    assert set(data["murphy"]) >= {"brier", "reliability", "resolution", "uncertainty"}
    assert 0 <= data["ece"] <= 1
    assert set(data["by_concept"]) == {"A", "C"} and data["by_concept"]["A"]["n"] == 2
    only_c = client.get("/api/v1/users/alice/calibration/?concept=C").json()
    assert only_c["n"] == 1


def test_user_calibration_unknown_user_is_404_and_new_user_is_empty(client, db):
    from tests.evaluator.factories import make_user

    assert client.get("/api/v1/users/ghost/calibration/").status_code == 404
    make_user("fresh")
    data = client.get("/api/v1/users/fresh/calibration/").json()
    assert data["n"] == 0 and data["bins"] == [] and data["ece"] is None


def test_reference_calibration(client, resolved_markets):
    data = client.get("/api/v1/calibration/?forecaster=community").json()
    assert data["forecaster"] == "community" and data["n"] == 3
    assert client.get("/api/v1/calibration/?forecaster=alice").status_code == 400
