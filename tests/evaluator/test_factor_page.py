"""/factor/, /api/v1/factor/ and /exports/factor.csv on synthetic surveys: the page and the API tell a real
factor from a task effect and from training progress, keep the API fields of docs/architecture.md, and
the CSV carries its provenance. The covariate story goes through ``factor_matrix``'s contract (the survey storage that fills
covariates is built elsewhere), so that one test hands a contract frame to the selector."""
from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
import pytest
from django.core.cache import cache

from evaluator import selectors
from evaluator.services import factor_record
from experiments.concepts import CONCEPTS as CONCEPT_INFO
from experiments.concepts import LETTERS
from tests.evaluator.survey_frames import survey_frame

pytestmark = pytest.mark.django_db
FIXTURE_MISSING = sum((i + j) % 13 == 0 for i in range(40) for j in range(8))  # the factor_cells fixture's gaps

SECTION_FIELDS = {"n_setups", "matrix", "pc1_share", "pc1_ci", "null_p95", "loadings", "verdict"}
NEW_FIELDS = {"verdict_code", "pooled_verdict", "pooled_verdict_code", "estimates", "leave_one_task_out",
              "correlation", "partial_info", "tasks", "n_cells", "n_missing_cells", "statistics", "provenance",
              "data_version", "loadings_ci", "fa_loadings", "eigenvalues", "null_eigen_p95"}


def _store(frame: pd.DataFrame) -> None:
    for setup, row in frame.iterrows():
        for c in LETTERS:
            if not math.isnan(row[c]):
                factor_record(setup=setup, task=row["task"], arch=row["arch"], concept=c, statistic=float(row[c]),
                              run_id=None, source="suite")


def test_api_keeps_the_section_9_fields_and_adds_the_robustness_report(client, factor_cells):
    data = client.get("/api/v1/factor/").json()
    assert SECTION_FIELDS | NEW_FIELDS <= set(data)
    assert set(data["estimates"]) == {"pooled_rank", "pooled_z", "within_task", "partialled"}
    assert data["estimates"]["pooled_rank"]["pc1_share"] == data["pc1_share"]
    assert data["estimates"]["within_task"]["available"] is True
    assert data["estimates"]["partialled"] == {"label": "training progress partialled out", "available": False,
                                               "reason": "no covariates recorded on 3 or more rows", "n_rows": 0}
    assert [r["left_out"] for r in data["leave_one_task_out"]] == [f"task{i}" for i in range(5)]
    assert data["n_cells"] == 320 and data["n_missing_cells"] == sum(
        1 for r in data["matrix"] for c in LETTERS if r[c] is None)
    assert data["statistics"] == {c: CONCEPT_INFO[c].statistic for c in LETTERS}
    assert data["statistics"]["E"] == "auroc_25" and data["statistics"]["G"] == "cka_early_final"
    assert len(data["correlation"]["matrix"]) == 8 and data["correlation"]["matrix"][0][0] == 1.0
    assert data["provenance"]["source"] == f"stored factor cells (suite: {320 - FIXTURE_MISSING})"
    # No covariates: the verdict must not claim more than "suggestive".
    assert data["verdict_code"] == "suggestive" and "convergence is not excluded" in data["verdict"]


def test_a_task_only_factor_is_shown_as_one(client):
    _store(survey_frame("task", 48))
    data = client.get("/api/v1/factor/").json()
    assert data["pc1_share"] > data["null_p95"]
    assert data["estimates"]["within_task"]["above_null"] is False
    assert data["verdict_code"] == "task_only"
    body = client.get("/factor/").content.decode()
    assert "Verdict: Only tells tasks apart" in body
    within_row = body.split('id="estimate-within_task"')[1].split("</tr>")[0]
    assert 'class="fail">no<' in within_row
    pooled_row = body.split('id="estimate-pooled_rank"')[1].split("</tr>")[0]
    assert 'class="pass">yes' in pooled_row


def test_a_convergence_only_factor_is_shown_as_one(client, monkeypatch):
    frame = survey_frame("covariate", 96)
    monkeypatch.setattr(selectors, "factor_matrix", lambda: frame)
    data = client.get("/api/v1/factor/").json()
    assert data["verdict_code"] == "convergence_only"
    assert data["partial_info"]["covariates"] == ["cov_final_train_loss", "cov_test_accuracy", "cov_steps_to_target"]
    assert data["matrix"][0]["cov_test_accuracy"] == pytest.approx(frame["cov_test_accuracy"].iloc[0])
    body = client.get("/factor/").content.decode()
    assert "Verdict: Only training progress" in body and 'id="progress-r2"' in body
    assert "how far training got" in body


def test_factor_page_sections_links_and_plots(client, factor_cells):
    response = client.get("/factor/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="n-setups">40<' in body and f'id="n-missing">{FIXTURE_MISSING} missing cells<' in body
    assert body.count("<svg") == 7  # estimates, scree, loadings, correlations, scatter, leave-one-out, matrix
    for anchor in ('id="estimates"', 'id="loadings"', 'id="matrix"', 'id="verdict"', "Scatter matrix",
                   "Leaving one task out", "null 95th percentile", "task0/mlp/setting0"):
        assert anchor in body, anchor
    assert body.count('href="/proposals/new/"') == 1
    assert body.index('id="verdict"') > body.index('id="matrix"')  # the verdict closes the page
    assert "/exports/factor.csv" in body and "<script" not in body.split("<main")[1].split("</main>")[0]


def test_empty_factor_page_and_api(client):
    body = client.get("/factor/").content.decode()
    assert "Verdict: Not enough rows yet" in body and "No setups measured yet" in body
    data = client.get("/api/v1/factor/").json()
    assert data["n_setups"] == 0 and data["n_cells"] == 0 and data["leave_one_task_out"] == []
    assert data["verdict_code"] == "insufficient_data" and data["estimates"]["within_task"]["available"] is False


def test_summary_is_cached_per_data_version(client, factor_cells):
    first = selectors.factor_summary()
    keys_before = first["data_version"]
    assert cache.get(f"evaluator:factor:v2:{keys_before}:200:200:200:500") == first
    factor_record(setup="task0/mlp/setting0", task="task0", arch="mlp", concept="A", statistic=9.0, run_id=None,
                  source="run")  # fills a gap of the fixture
    second = selectors.factor_summary()
    assert second["data_version"] != keys_before
    assert second["provenance"]["source"] == f"stored factor cells (run: 1, suite: {320 - FIXTURE_MISSING})"
    assert next(r for r in second["matrix"] if r["setup"] == "task0/mlp/setting0")["source"] == "run+suite"


def test_factor_csv_carries_its_provenance(client, factor_cells):
    response = client.get("/exports/factor.csv")
    text = response.content.decode()
    header = [line for line in text.splitlines() if line.startswith("# ")]
    keys = {line[2:].split(":", 1)[0] for line in header}
    assert {"generated_at", "site_code_version", "data_version", "source", "statistics", "read with"} <= keys
    version = next(line for line in header if line.startswith("# data_version"))
    assert version.endswith(client.get("/api/v1/factor/").json()["data_version"])
    assert "E=auroc_25" in text and "G=cka_early_final" in text
    frame = pd.read_csv(io.StringIO(text), comment="#")
    assert len(frame) == 40 and list(frame.columns)[:3] == ["setup", "task", "arch"]
    assert set(frame["source"]) == {"suite"}
    stored = selectors.factor_matrix()
    np.testing.assert_allclose(frame.set_index("setup")[list(LETTERS)].to_numpy(),
                               stored[list(LETTERS)].to_numpy(), equal_nan=True)
