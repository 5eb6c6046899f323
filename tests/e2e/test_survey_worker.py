"""A tiny survey end to end on a real Redis broker and real Celery workers: plan → run → every
runnable cell done → the factor page shows the rows; a killed worker and a redelivered unit lose and
duplicate nothing."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.test import Client

from experiments.protocols.base import get_protocol
from experiments.survey.design import read_design
from experiments.survey.models import SurveyCampaign, SurveyCell
from tests.e2e import resolution_support
from tests.e2e.resolution_support import ROOT, wait_for

pytestmark = [pytest.mark.redis, pytest.mark.slow]
workers = resolution_support.workers  # fixture

AXES = ["steps=30:40", "width=16:16", "sparse_parity.n=6:6", "sparse_parity.k=2:2",
        "sparse_parity.n_train=256:256", "batch_size=32|64"]


def _survey(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "survey", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _runnable(cell: SurveyCell) -> bool:
    return cell.row.task in get_protocol(cell.concept).tasks


def test_a_tiny_survey_runs_on_real_workers_survives_a_killed_worker_and_reaches_the_factor_page(
        workers, tmp_path):
    design_path = tmp_path / "tiny.json"
    call_command("survey", "plan", "--rows", "3", "--seed", "7", "--preset", "tiny", "--out", str(design_path),
                 *[f"--axis={a}" for a in AXES])
    design = read_design(design_path)
    first = workers.start("a", concurrency=1)
    env = {**workers.env, "PYTHONUNBUFFERED": "1"}
    # enqueue every unit and return at once; then kill the worker as soon as some cells are done
    done = _survey(env, "run", "--design", str(design_path), "--no-wait")
    assert done.returncode == 0, done.stderr[-3000:]
    campaign = SurveyCampaign.objects.get(design_sha256=design["sha256"])
    wait_for(lambda: SurveyCell.objects.filter(row__campaign=campaign, status="done").count() >= 4, timeout=180,
             what="the first unit to finish", logs=workers.logs)
    workers.kill(first)
    finished = {c.pk: c.updated_at for c in SurveyCell.objects.filter(row__campaign=campaign, status="done")}

    # a restart: a new worker, and `survey run` again (it re-sends whatever is not done and waits)
    workers.start("b", concurrency=2)
    done = _survey(env, "run", "--design", str(design_path), "--timeout", "240")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "survey cells" in done.stderr  # the tqdm progress bar
    cells = list(SurveyCell.objects.filter(row__campaign=campaign).select_related("row"))
    assert len(cells) == 3 * 8
    for cell in cells:
        if _runnable(cell):
            assert cell.status == "done", (cell.row.task, cell.concept, cell.error[-500:])
            assert cell.spec_sha256 and cell.seeds and cell.device == "cpu"
        else:
            assert cell.status == "failed" and cell.error.startswith("not runnable")
    # finished cells were not recomputed after the kill
    for pk, stamp in finished.items():
        assert SurveyCell.objects.get(pk=pk).updated_at == stamp
    assert all(r.covariates and 0 <= r.covariates["test_accuracy"] <= 1 for r in campaign.rows.all())

    # a redelivered unit is skipped and writes nothing
    result = workers.client().send_task("experiments.survey_unit", args=[campaign.pk, 0, "base"], queue="gpu")
    assert result.get(timeout=60) == "skipped"
    assert SurveyCell.objects.filter(row__campaign=campaign).count() == 24

    status = _survey(env, "status", "--design", str(design_path))
    assert "rows" in status.stdout and campaign.name in status.stdout

    page = Client().get("/factor/")
    assert page.status_code == 200
    api = Client().get("/api/v1/factor/").json()
    assert api["n_setups"] == 3
    assert {r["task"] for r in api["matrix"]} == {"digits", "lms", "sparse_parity"}
    os.environ.pop("PYTHONUNBUFFERED", None)
