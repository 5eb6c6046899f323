"""The report of a factor market (issue 14): ``/markets/{id}/report/`` with its campaign, the campaign's
CSV and design file, and ``GET /api/v1/markets/{id}/campaign/`` — before the close (the seed hidden), while
the campaign runs (progress) and once decided (estimate, loadings, scree plot, rows, seed check)."""
from __future__ import annotations

import hashlib
import html as html_text
import io
import json
import re

import pandas as pd
import pytest
from django.db import transaction

from experiments.concepts import LETTERS
from experiments.survey.design import design_sha256
from experiments.survey.models import SurveyCell
from market.models import MarketCampaign
from market.services import market_close
from market.services.campaigns import market_campaign_extend
from tests.market.factories import MarketFactory
from tests.resolution.campaign_support import (
    CODE_VERSION,
    cells_fill,
    factor_market_decided,
    factor_market_open,
)

pytestmark = pytest.mark.django_db


def _api(client, market_id: int) -> dict:
    response = client.get(f"/api/v1/markets/{market_id}/campaign/")
    assert response.status_code == 200, response.content
    return response.json()


def _absent(secret: str, text: str) -> bool:
    return re.search(rf"(?<![0-9a-f]){re.escape(secret)}(?![0-9a-f])", text) is None


def test_open_factor_market_shows_the_commitment_and_hides_the_seed(client):
    market = factor_market_open()
    link = MarketCampaign.objects.get(market=market)
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert market.spec["design_seed_commitment"] in html
    assert "The seed is hidden until the market closes." in html
    assert "The campaign starts when the market closes" in html
    assert "measure all eight concepts" in html  # the criterion in words
    assert 'id="design-seed"' not in html and 'id="salt"' not in html
    assert _absent(link.salt, html)
    if link.design_seed >= 10**6:  # a short number could appear on the page by chance
        assert _absent(str(link.design_seed), html)
    assert "campaign-poll" not in html  # nothing runs yet: no polling

    body = client.get(f"/api/v1/markets/{market.pk}/campaign/")
    data = body.json()
    assert data["revealed"] is False and data["design_seed"] is None and data["salt"] is None
    assert "commitment_ok" not in data
    assert data["commitment"] == market.spec["design_seed_commitment"]
    assert data["campaign"] is None and data["progress"] is None and data["estimate"] is None
    assert data["market_status"] == "open" and data["rows_planned"] == 0
    assert _absent(link.salt, body.content.decode())
    if link.design_seed >= 10**6:
        assert _absent(str(link.design_seed), body.content.decode())

    for path in ("design.json", "campaign.csv"):
        response = client.get(f"/markets/{market.pk}/{path}")
        assert response.status_code == 404, path


def test_running_campaign_shows_its_progress_and_polls_the_api(client):
    market = factor_market_open(rows=4)
    market_close(market=market.pk)
    cells_fill(market=market, done=17, failed=1, running=2)  # rows 0 and 1 done, row 2 part-way
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert 'id="rows-progress" max="4" value="2"' in html
    for key, value in {"rows-done": 2, "rows-planned": 4, "cells-done": 17, "cells-failed": 1,
                       "cells-running": 2, "cells-pending": 14, "cells-total": 32}.items():
        assert f'id="{key}">{value}<' in html, key
    assert "about " in html and " min" in html  # an ETA once cells are done
    assert 'id="campaign-poll"' in html and "js/campaign_progress" in html
    assert "<script>" not in html.replace('<script id="campaign-poll" type="application/json">', "")
    assert "No decision yet" in html
    rows = re.findall(r'<tr data-row="(\d+)">', html)
    assert rows == ["0", "1", "2", "3"]
    assert html.count('class="cell-failed">failed<') == 1 and html.count('class="cell-running">running<') == 2

    data = _api(client, market.pk)
    assert data["market_status"] in ("closed", "running") and data["revealed"] is True
    assert data["progress"]["rows_done"] == 2 and data["progress"]["cells_done"] == 17
    assert data["progress"]["cells_failed"] == 1 and data["progress"]["cells_running"] == 2
    assert data["campaign"]["design_sha256"] and data["decisions"] == [] and data["estimate"] is None


def test_decided_report_shows_estimate_loadings_scree_rows_and_the_seed_check(client):
    market = factor_market_decided()
    link = MarketCampaign.objects.select_related("campaign").get(market=market)
    factor = link.report["factor"]
    response = client.get(f"/markets/{market.pk}/report/")
    assert [t.name for t in response.templates][0] == "resolution/campaign_report.html"
    html = response.content.decode()
    assert market.status == "resolved" and "campaign-poll" not in html
    # the seed, the salt and a recipe that recomputes the commitment
    assert f'id="design-seed">{link.design_seed}<' in html and link.salt in html
    assert 'aria-label="matches">✓' in html
    recipe = re.search(r"hashlib\.sha256\(b'([^']+)'\)", html_text.unescape(html)).group(1)
    assert hashlib.sha256(recipe.encode()).hexdigest() == market.spec["design_seed_commitment"]
    # the design file and its hash
    assert link.campaign.design_sha256 in html and f"/markets/{market.pk}/design.json" in html
    # the decision, the estimate against its null, loadings and scree
    assert html.count('class="decision-row"') == 1 and "<strong>YES</strong>" in html
    assert f'id="pc1-share">{factor["pc1_share"]:.3f}<' in html
    assert f'id="null-p95">{factor["null_p95"]:.3f}<' in html
    for label in ("PC1 share against its null", "PC1 loadings", "Scree plot"):
        assert f'aria-label="{label}"' in html, label
    loadings = re.search(r'<table class="data" id="loadings">(.*?)</table>', html, re.S).group(1)
    assert loadings.count("<tr>") == 1 + len(factor["loadings"])
    assert 'id="robust-error"' in html or 'id="robust-verdict"' in html
    # every row with its eight statistics
    rows = re.findall(r'<tr data-row="(\d+)">(.*?)</tr>', html, re.S)
    assert [int(i) for i, _ in rows] == list(range(8))
    first = SurveyCell.objects.get(row__campaign=link.campaign, row__index=0, concept="A").statistic
    assert f"{first:.4f}".rstrip("0").rstrip(".") in rows[0][1]


def test_campaign_csv_has_provenance_lines_and_every_row(client):
    market = factor_market_decided()
    link = MarketCampaign.objects.select_related("campaign").get(market=market)
    response = client.get(f"/markets/{market.pk}/campaign.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    header = [line[2:] for line in text.splitlines() if line.startswith("# ")]
    for line in (f"design_sha256: {link.campaign.design_sha256}",
                 f"design_seed_commitment: {market.spec['design_seed_commitment']}",
                 f"design_seed: {link.design_seed}", f"salt: {link.salt}", "commitment_matches: yes",
                 f"cell_code_versions: {CODE_VERSION}", f"market_spec_sha256: {market.spec_sha256}"):
        assert line in header, line
    assert any(line.startswith("site_code_version: ") for line in header)
    frame = pd.read_csv(io.StringIO(text), comment="#")
    assert list(frame["row"]) == list(range(8)) and set(frame["task"]) == {"digits"}
    assert {f"param_{k}" for k in ("lr", "steps", "width")} <= set(frame.columns)
    cells = SurveyCell.objects.filter(row__campaign=link.campaign)
    for cell in cells:
        assert frame.loc[cell.row.index, cell.concept] == pytest.approx(cell.statistic)
        assert frame.loc[cell.row.index, f"{cell.concept}_status"] == "done"
    assert set(frame["status"]) == {"done"}


def test_design_json_is_the_campaigns_design_and_matches_its_hash(client):
    market = factor_market_decided()
    link = MarketCampaign.objects.select_related("campaign").get(market=market)
    response = client.get(f"/markets/{market.pk}/design.json")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    design = json.loads(response.content)
    assert design_sha256(design) == design["sha256"] == link.campaign.design_sha256
    assert design["seed"] == link.design_seed and len(design["rows"]) == 8


def test_a_broken_commitment_shows_a_cross(client):
    market = factor_market_open(rows=3)
    market_close(market=market.pk)
    MarketCampaign.objects.filter(market=market).update(salt="0" * 64)
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert 'aria-label="does not match">✗' in html
    assert _api(client, market.pk)["commitment_ok"] is False


def test_api_of_a_decided_campaign_and_its_404s(client):
    market = factor_market_decided()
    link = MarketCampaign.objects.select_related("campaign").get(market=market)
    data = _api(client, market.pk)
    assert data["market_id"] == market.pk and data["market_status"] == "resolved"
    assert data["market_outcome"] == market.outcome
    assert data["design_seed"] == link.design_seed and data["salt"] == link.salt
    assert data["commitment_ok"] is True
    assert data["revealed_at"].startswith(link.revealed_at.date().isoformat())
    assert data["campaign"] == {"id": link.campaign_id, "name": link.campaign.name,
                                "design_sha256": link.campaign.design_sha256, "preset": "tiny"}
    assert data["progress"]["complete"] is True and data["progress"]["rows_done"] == 8
    assert data["rows_decided"] == 8 and len(data["decisions"]) == 1
    estimate = data["estimate"]
    assert estimate["n_rows_used"] == 8
    assert estimate["statistic"] == pytest.approx(estimate["factor"]["pc1_share"])
    assert set(estimate["factor"]["loadings"]) <= set(LETTERS) and len(estimate["factor"]["eigenvalues"]) >= 2

    missing = client.get("/api/v1/markets/999999/campaign/")
    assert missing.status_code == 404
    plain = MarketFactory()
    response = client.get(f"/api/v1/markets/{plain.pk}/campaign/")
    assert response.status_code == 404 and "not resolved by a survey campaign" in response.json()["detail"]
    assert client.get(f"/markets/{plain.pk}/design.json").status_code == 404
    assert client.get(f"/markets/{plain.pk}/campaign.csv").status_code == 404
    assert client.get("/markets/999999/report/").status_code == 404
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    assert "/api/v1/markets/{id}/campaign/" in schema["paths"]


def test_a_single_run_market_keeps_its_report(client):
    market = MarketFactory()
    response = client.get(f"/markets/{market.pk}/report/")
    assert response.status_code == 200
    assert [t.name for t in response.templates][0] == "resolution/report.html"


def test_a_stage_that_asked_for_more_rows_shows_the_next_stage(client):
    market = factor_market_open(rows=3, row_budget=5)
    market_close(market=market.pk)
    cells_fill(market=market)
    entry = {"rows": 3, "n_rows_used": 3, "statistic": 0.5, "ci_low": 0.05, "ci_high": 0.9,
             "outcome": "more_seeds", "reason": "The CI straddles the threshold; measuring more rows.",
             "at": "2026-11-30T00:00:00+00:00"}
    with transaction.atomic():  # as campaign_market_decide records a straddling stage
        link = MarketCampaign.objects.select_for_update(of=("self",)).get(market=market)
        link.rows_decided, link.decisions = 3, [entry]
        link.save(update_fields=["rows_decided", "decisions"])
        market_campaign_extend(link=link, rows=5)
    html = client.get(f"/markets/{market.pk}/report/").content.decode()
    assert html.count('class="decision-row"') == 1 and ">more rows<" in html
    assert "measuring more rows" in html and "2026-11-30 00:00:00 UTC" in html
    assert 'id="campaign-poll"' in html and '"decisions": 1' in html  # reloads at the next decision
    assert 'id="rows-done">3<' in html and 'id="rows-planned">5<' in html and 'id="cells-pending">16<' in html
    assert re.findall(r'<tr data-row="(\d+)">', html) == ["0", "1", "2", "3", "4"]
    assert _api(client, market.pk)["rows_planned"] == 5
