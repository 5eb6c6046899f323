"""Markets on the general factor (docs/factor-markets.md): the campaign spec, the hidden design seed,
the close that reveals it and starts the campaign, and the decision from the factor estimate — exactly
once, with more rows when the CI straddles and an annulment when it still does. Cells are written by
hand here (no training); tests/e2e/test_factor_market_worker.py runs a tiny campaign on real workers."""
from __future__ import annotations

import copy
from datetime import timedelta

import numpy as np
import pytest
from django.db.models import Sum
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from evaluator.factor import general_factor
from evaluator.factor_statistics import factor_statistic
from experiments.concepts import LETTERS
from experiments.decision import Criterion, decide
from experiments.survey import campaign_spec
from experiments.survey.design import plan
from experiments.survey.models import SurveyCampaign, SurveyCell
from market.models import LedgerEntry, Market, MarketCampaign
from market.services import forecast_place, market_close, market_open
from market.specs import CriterionError
from resolution.campaigns import campaign_market_decide, campaign_market_status, campaigns_resume_stalled
from tests.market.factories import UserFactory
from tests.proposals.support import proposal_body, token_client

pytestmark = pytest.mark.django_db

SPEC = {"kind": "survey_campaign", "preset": "tiny", "tasks": ["digits", "lms"], "rows": 12,
        "row_budget": 24, "statistic": "pc1_share", "axes": {"steps": "30:40", "width": "16:16"},
        "n_bootstrap": 200, "n_null": 200}


def _open(spec: dict | None = None, *, statistic: str = "pc1_share", comparator: str = ">=",
          threshold: float = 0.125, traders: int = 2) -> Market:
    market = market_open(title="factor test", concept="g", question="Is there a factor?",
                         spec=copy.deepcopy(spec or SPEC), statistic=statistic, comparator=comparator,
                         threshold=threshold, close_time=timezone.now() + timedelta(hours=2))
    for i in range(traders):
        forecast_place(user=UserFactory(), market=market, probability=0.8 if i % 2 == 0 else 0.3)
    return market


def _fill(campaign: SurveyCampaign, rows: int, *, seed: int = 0, factor: float = 1.0) -> None:
    """Hand-made cells for the first ``rows`` rows: one latent trait plus noise (``factor`` = its weight)."""
    rng = np.random.default_rng(seed)
    for row in campaign.rows.filter(index__lt=rows).order_by("index"):
        trait = rng.normal()
        for letter in LETTERS:
            value = factor * trait + rng.normal()
            SurveyCell.objects.filter(row=row, concept=letter).update(
                status="done", statistic=value, ci_low=value - 0.1, ci_high=value + 0.1, attempts=1)


def _payouts(market: Market) -> tuple[int, object]:
    entries = LedgerEntry.objects.filter(market=market, kind="payout")
    return entries.count(), entries.aggregate(s=Sum("amount"))["s"]


# --- the spec -------------------------------------------------------------------------------------------

def test_a_campaign_spec_is_normalized_with_its_resolved_axes_and_hashed():
    spec = campaign_spec.campaign_spec_validate(SPEC)
    assert spec["axis_overrides"] == ["steps=30:40", "width=16:16"]
    assert spec["axes"]["digits"]["steps"]["low"] == 30 and spec["axes"]["lms"]["width"]["high"] == 16
    assert campaign_spec.factor_statistic_name(spec) == "pc1_share"
    # validating the normalized spec again changes nothing (a stored market re-validates to the same hash)
    assert campaign_spec.campaign_spec_validate(spec) == spec
    again = campaign_spec.campaign_spec_validate(spec)
    assert campaign_spec.spec_sha256(spec) == campaign_spec.spec_sha256(again)
    loading = campaign_spec.campaign_spec_validate({**SPEC, "statistic": "sign_agreement",
                                                    "concepts": ["A", "E"]})
    assert campaign_spec.factor_statistic_name(loading) == "sign_agreement_A_E"


@pytest.mark.parametrize(("change", "field"), [
    ({"rows": 5000}, "rows"),
    ({"rows": 2}, "rows"),
    ({"row_budget": 6}, "row_budget"),
    ({"axes": {"depthx": "1:2"}}, "axes.depthx"),
    ({"axes": {"steps": "0:10"}}, "axes.steps"),
    ({"axes": {"lr": "abc"}}, "axes.lr"),
    ({"tasks": ["modadd"]}, "tasks"),
    ({"statistic": "eigengap"}, "statistic"),
    ({"statistic": "loading", "concepts": []}, "concepts"),
    ({"statistic": "sign_agreement", "concepts": ["A", "A"]}, "concepts"),
    ({"statistic": "loading", "concepts": ["Z"]}, "concepts"),
    ({"preset": "huge"}, "preset"),
    ({"seed": 3}, "seed"),
])
def test_a_bad_campaign_spec_names_the_field(change, field):
    with pytest.raises(ValueError) as info:
        campaign_spec.campaign_spec_validate({**SPEC, **change})
    assert info.value.field == field, info.value


def test_the_proposals_api_answers_400_naming_the_field_of_a_bad_campaign_spec(user):
    client = token_client(user)
    for change, field in [({"rows": 100000}, "spec.rows"), ({"axes": {"depthx": "1:2"}}, "spec.axes.depthx"),
                          ({"axes": {"steps": "0:10"}}, "spec.axes.steps"),
                          ({"design_seed_commitment": "0" * 64}, "spec.design_seed_commitment")]:
        body = proposal_body(concept="g", spec={**SPEC, **change}, statistic="pc1_share", threshold=0.3)
        response = client.post("/api/v1/proposals/", body, format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()["errors"], (field, response.json())
    wrong = proposal_body(concept="g", spec=SPEC, statistic="dis_ood", threshold=0.3)
    response = client.post("/api/v1/proposals/", wrong, format="json")
    assert response.status_code == 400 and "statistic" in response.json()["errors"]


def test_a_campaign_proposal_is_approved_into_a_sealed_factor_market(user):
    staff = UserFactory(is_staff=True)
    body = proposal_body(concept="g", title="Is there a general factor on tiny MLPs?", spec=SPEC,
                         statistic="pc1_share", threshold=0.3)
    created = token_client(user).post("/api/v1/proposals/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["estimated_cost"]["flops"] > 0
    dry = token_client(user).post(f"/api/v1/proposals/{created.json()['id']}/dry_run/")
    assert dry.status_code == 400 and "no dry run" in str(dry.json())
    approved = token_client(staff).post(f"/api/v1/proposals/{created.json()['id']}/approve/")
    assert approved.status_code == 200, approved.content
    market = Market.objects.get(pk=approved.json()["market_id"])
    assert market.concept == "g" and market.is_campaign and market.spec["design_seed_commitment"]


# --- the hidden seed ------------------------------------------------------------------------------------

def test_the_seed_is_committed_at_open_and_hidden_until_the_close():
    market = _open()
    link = MarketCampaign.objects.get(market=market)
    commitment = market.spec["design_seed_commitment"]
    assert campaign_spec.seed_commitment(link.design_seed, link.salt) == commitment
    assert market.spec_sha256 == campaign_spec.spec_sha256(market.spec)  # the commitment is in the hash
    assert not link.revealed and link.campaign is None
    secret = [link.salt] + ([str(link.design_seed)] if len(str(link.design_seed)) >= 6 else [])
    api, web = APIClient(), Client()
    for url in ["/api/v1/markets/", f"/api/v1/markets/{market.pk}/", f"/api/v1/markets/{market.pk}/evidence/",
                f"/markets/{market.pk}/", f"/markets/{market.pk}/report/", "/", "/?concept=g"]:
        response = (api if "/api/" in url else web).get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert commitment in body or "evidence" in url or url.startswith("/?") or url == "/", url
        for s in secret:
            assert s not in body, f"{url} shows the hidden seed"
    assert campaign_market_status(market=market)["design_seed"] is None
    with pytest.raises(CriterionError) as info:  # nobody may choose the commitment (or the seed) themselves
        market_open(title="x", concept="g", question="q", spec={**SPEC, "design_seed_commitment": commitment},
                    statistic="pc1_share", comparator=">=", threshold=0.1,
                    close_time=timezone.now() + timedelta(hours=1))
    assert info.value.field == "spec.design_seed_commitment"


def test_closing_reveals_the_seed_and_draws_the_design_from_it():
    market = _open()
    assert market_close(market=market.pk)
    link = MarketCampaign.objects.select_related("campaign").get(market=market)
    assert link.revealed and link.rows_planned == 12 and link.rows_decided == 0
    expected = plan(rows=24, seed=link.design_seed, tasks=["digits", "lms"], preset="tiny",
                    axes=["steps=30:40", "width=16:16"], name=f"market-{market.pk}")
    assert link.campaign.design_sha256 == expected["sha256"]
    assert link.campaign.rows.count() == 24
    assert SurveyCell.objects.filter(row__campaign=link.campaign).count() == 192
    status = campaign_market_status(market=Market.objects.get(pk=market.pk))
    assert status["design_seed"] == link.design_seed and status["commitment_ok"] is True
    assert status["progress"]["rows_planned"] == 12 and status["progress"]["rows_done"] == 0
    assert not market_close(market=market.pk)  # closing twice starts nothing new
    assert SurveyCampaign.objects.count() == 1


# --- the decision ---------------------------------------------------------------------------------------

def test_a_finished_stage_resolves_the_market_once_and_pays_once():
    market = _open(threshold=0.125)
    market_close(market=market.pk)
    link = MarketCampaign.objects.select_related("campaign").get(market=market)
    _fill(link.campaign, 6)
    assert campaign_market_decide(market_id=market.pk)["action"] == "waiting"  # rows 6–11 still to run
    _fill(link.campaign, 12)
    first = campaign_market_decide(market_id=market.pk)
    assert first["action"] == "resolved" and first["outcome"] == "yes", first
    market.refresh_from_db()
    assert market.status == "resolved" and market.outcome == "yes" and "12 rows" in market.resolution_note
    paid = _payouts(market)
    # a redelivered decision task, and two arriving together, change nothing
    assert campaign_market_decide(market_id=market.pk)["action"] == "already_settled"
    assert _payouts(market) == paid and paid[0] >= 1
    link.refresh_from_db()
    assert [d["rows"] for d in link.decisions] == [12] and link.report["statistic"] >= 0.125


def test_the_decision_reads_the_estimate_of_the_campaigns_own_rows():
    market = _open(spec={**SPEC, "statistic": "sign_agreement", "concepts": ["A", "B"]},
                   statistic="sign_agreement_A_B", comparator=">", threshold=0.0)
    market_close(market=market.pk)
    link = MarketCampaign.objects.select_related("campaign").get(market=market)
    _fill(link.campaign, 12, factor=3.0)  # one strong trait: every pair loads with the same sign
    result = campaign_market_decide(market_id=market.pk)
    assert result["action"] == "resolved" and result["outcome"] == "yes", result
    link.refresh_from_db()
    assert link.report["n_rows_used"] == 12
    product = link.report["factor"]["loading_products"]["AB"]
    assert result["statistic"] == pytest.approx(product[0]) and product[1] > 0


def test_a_straddling_ci_adds_rows_up_to_the_budget_then_annuls_with_refunds():
    market = _open(threshold=0.5)
    market_close(market=market.pk)
    link = MarketCampaign.objects.select_related("campaign").get(market=market)
    _fill(link.campaign, 12, factor=1.0)
    # put the threshold inside this stage's CI, as a forecaster's honest median would be
    from resolution.campaigns import campaign_estimate

    estimate = campaign_estimate(link=link, rows=12)
    Market.objects.filter(pk=market.pk).update(threshold=estimate["statistic"])
    extended = campaign_market_decide(market_id=market.pk)
    assert extended["action"] == "more_rows" and extended["rows"] == 24, extended
    link.refresh_from_db()
    assert link.rows_planned == 24 and link.rows_decided == 12
    assert Market.objects.get(pk=market.pk).status == "running"
    assert campaign_market_decide(market_id=market.pk)["action"] == "waiting"
    _fill(link.campaign, 24, seed=0, factor=1.0)
    estimate = campaign_estimate(link=link, rows=24)
    Market.objects.filter(pk=market.pk).update(threshold=estimate["statistic"])
    final = campaign_market_decide(market_id=market.pk)
    assert final["action"] == "annulled", final
    market.refresh_from_db()
    assert market.status == "annulled" and LedgerEntry.objects.filter(market=market, kind="refund").exists()
    link.refresh_from_db()
    assert [d["outcome"] for d in link.decisions] == ["more_seeds", "annul"]
    assert "rows" in link.decisions[0]["reason"]


def test_the_sweep_decides_a_finished_stage_and_resends_a_stalled_one(django_capture_on_commit_callbacks):
    market = _open()
    market_close(market=market.pk)
    link = MarketCampaign.objects.select_related("campaign").get(market=market)
    # a stage whose units stopped moving (a worker died): the sweep re-sends its units
    with django_capture_on_commit_callbacks() as callbacks:
        out = campaigns_resume_stalled(now=timezone.now() + timedelta(hours=1), stall_seconds=600)
    assert out["resent"] == [market.pk] and len(callbacks) == 1
    # nothing is re-sent while the stage still moves
    assert campaigns_resume_stalled(stall_seconds=600)["resent"] == []
    _fill(link.campaign, 12)
    with django_capture_on_commit_callbacks() as callbacks:
        out = campaigns_resume_stalled(stall_seconds=600)
    assert out["decided"] == [market.pk] and len(callbacks) == 1


def test_a_failed_cell_keeps_the_stage_open_until_its_retries_are_spent():
    from experiments.survey.services import survey_final_attempts, survey_stage_finished

    market = _open()
    market_close(market=market.pk)
    link = MarketCampaign.objects.select_related("campaign").get(market=market)
    _fill(link.campaign, 12)
    cell = SurveyCell.objects.filter(row__campaign=link.campaign, row__index=0, concept="B").get()
    SurveyCell.objects.filter(pk=cell.pk).update(status="failed", attempts=1, error="Traceback: boom")
    assert not survey_stage_finished(campaign=link.campaign, rows=12)
    SurveyCell.objects.filter(pk=cell.pk).update(attempts=survey_final_attempts())
    assert survey_stage_finished(campaign=link.campaign, rows=12)
    assert campaign_market_decide(market_id=market.pk)["action"] == "resolved"


# --- the statistics -------------------------------------------------------------------------------------

def test_each_factor_statistic_reads_the_estimate_and_a_product_of_loadings_ignores_pc1s_sign():
    rng = np.random.default_rng(3)
    trait = rng.normal(size=60)
    data = np.column_stack([trait * (1 if j % 2 else -1) + rng.normal(size=60) for j in range(8)])
    result = general_factor(data, columns=list(LETTERS), n_bootstrap=300, n_null=200)
    base = {"statistic": "pc1_share", "concepts": []}
    assert factor_statistic(result, base) == (result.pc1_share, *result.pc1_ci)
    excess = factor_statistic(result, {"statistic": "pc1_share_minus_null_p95", "concepts": []})
    assert excess[0] == pytest.approx(result.pc1_share - result.null_p95)
    loading = factor_statistic(result, {"statistic": "loading", "concepts": ["C"]})
    assert loading == (result.loadings["C"], *result.loadings_ci["C"])
    same = factor_statistic(result, {"statistic": "sign_agreement", "concepts": ["A", "C"]})  # both even
    opposite = factor_statistic(result, {"statistic": "sign_agreement", "concepts": ["B", "A"]})
    assert same[1] > 0 and opposite[2] < 0
    flipped = general_factor(-data, columns=list(LETTERS), n_bootstrap=300, n_null=200)
    product = factor_statistic(flipped, {"statistic": "sign_agreement", "concepts": ["A", "C"]})[0]
    assert product == pytest.approx(same[0])


def test_the_decision_rule_counts_rows_for_a_campaign():
    decision = decide(criterion=Criterion("pc1_share", ">=", 0.3), statistic=0.3, ci_low=0.2, ci_high=0.4,
                      n_seeds=48, seed_budget=144, unit="rows")
    assert decision.outcome == "more_seeds" and decision.next_seed_count == 96 and "rows" in decision.reason


def test_the_seeded_factor_markets_open_and_the_demo_is_tiny():
    from django.core.management import call_command

    call_command("seed_markets", "--no-users")
    factor = list(Market.objects.filter(concept="g"))
    assert len(factor) >= 3 and all(m.status == "open" and m.is_campaign for m in factor)
    demo = next(m for m in factor if "demo" in m.title)
    assert demo.spec["preset"] == "tiny" and demo.spec["rows"] <= 6
    assert all(MarketCampaign.objects.filter(market=m, revealed_at__isnull=True).exists() for m in factor)


# --- evidence -------------------------------------------------------------------------------------------

def _hand_made_survey(rows: int = 30) -> SurveyCampaign:
    """A `survey`-preset campaign of ``rows`` digits/lms settings with one strong latent trait."""
    from experiments.survey.services import survey_campaign_create

    design = plan(rows=rows, seed=11, tasks=["digits", "lms"], preset="survey")
    campaign = survey_campaign_create(design=design, source=SurveyCampaign.Source.SHIPPED)
    _fill(campaign, rows, seed=5, factor=2.0)
    return campaign


def test_the_evidence_panel_simulates_fresh_surveys_from_hand_made_rows(user):
    from django.core.cache import cache

    cache.clear()
    _hand_made_survey(30)
    spec = {**SPEC, "preset": "survey", "rows": 12, "row_budget": 12, "axes": {}}
    market = _open(spec=spec, threshold=0.4)
    body = APIClient().get(f"/api/v1/markets/{market.pk}/evidence/").json()
    assert body["statistic"] == "pc1_share" and body["n_candidates"] == 30
    assert body["summary"]["n"] == 24 and body["summary"]["minimum"] > 0.3  # one strong trait: high PC1
    assert "simulated 12-row surveys" in body["headline"]
    assert body["summary"]["ci_yes"] + body["summary"]["ci_no"] + body["summary"]["ci_straddles"] == 24
    page = Client().get(f"/markets/{market.pk}/").content.decode()
    assert "simulated 12-row surveys" in page and 'id="evidence-chart"' in page
    # a threshold under every simulated survey is flagged as foregone, as for any market
    foregone = _open(spec=spec, threshold=0.13)
    warning = APIClient().get(f"/api/v1/markets/{foregone.pk}/evidence/").json()["warning"]
    assert warning and warning["code"] == "outside_range"
    # a design beyond the survey's range: the subsets are extrapolation, shown without a foregone warning
    beyond = _open(spec={**spec, "axes": {"steps": "600:900"}}, threshold=0.13)
    far = APIClient().get(f"/api/v1/markets/{beyond.pk}/evidence/").json()
    assert far["summary"]["n"] == 24 and far["warning"] is None
    assert far["outside_survey"] and "Only 0 measured rows" in far["message"]
    # a campaign on tasks the survey has not measured says so instead of inventing evidence
    cache.clear()
    sparse = _open(spec={**spec, "tasks": ["sparse_parity"], "axes": {}}, threshold=0.4)
    empty = APIClient().get(f"/api/v1/markets/{sparse.pk}/evidence/").json()
    assert empty["summary"] is None and "Only 0 survey rows" in empty["message"]


def test_staff_see_a_foregone_warning_on_a_factor_proposal(user):
    from django.core.cache import cache

    cache.clear()
    _hand_made_survey(30)
    staff = UserFactory(is_staff=True)
    body = proposal_body(concept="g", title="Does PC1 carry a tenth of the variance?",
                         spec={**SPEC, "preset": "survey", "rows": 12, "row_budget": 12, "axes": {}},
                         statistic="pc1_share", threshold=0.1)
    created = token_client(user).post("/api/v1/proposals/", body, format="json")
    assert created.status_code == 201, created.content
    seen = token_client(staff).get(f"/api/v1/proposals/{created.json()['id']}/").json()
    assert seen["evidence_warning"] and "foregone" in seen["evidence_warning"]["message"]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_decisions_on_postgresql_settle_a_factor_market_once(require_postgres):
    """Four decision tasks at once (two units finishing together, a redelivery): one stage decision, one
    resolution, payouts once, and the ledger reconciles."""
    import threading

    from django.db import close_old_connections, connection

    from market.reconcile import ledger_reconcile

    market = _open(threshold=0.125, traders=3)
    market_close(market=market.pk)
    link = MarketCampaign.objects.select_related("campaign").get(market=market)
    _fill(link.campaign, 12)
    start, results, errors = threading.Barrier(4), [], []

    def run() -> None:
        try:
            start.wait()
            results.append(campaign_market_decide(market_id=market.pk)["action"])
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    close_old_connections()
    assert not errors, errors
    assert sorted(results).count("resolved") == 1, results
    assert set(results) <= {"resolved", "already_decided", "already_settled"}
    link.refresh_from_db()
    assert len(link.decisions) == 1
    market.refresh_from_db()
    winners = market.positions.filter(shares_yes__gt=0).count()
    assert _payouts(market)[0] == winners >= 1
    report = ledger_reconcile()
    assert report.ok, report.summary()


# --- numeric factor markets -----------------------------------------------------------------------------

def test_a_numeric_factor_market_resolves_in_the_bin_of_the_estimate():
    from market.services import market_open_numeric

    spec = {**SPEC, "row_budget": 12}
    with pytest.raises(CriterionError) as info:  # no CI rule, so no extension: the budget is the rows
        market_open_numeric(title="x", concept="g", question="q", spec=SPEC, statistic="pc1_share",
                            range_lo=0.0, range_hi=1.0, close_time=timezone.now() + timedelta(hours=1))
    assert info.value.field == "spec.row_budget"
    market = market_open_numeric(title="What share will PC1 carry?", concept="g", question="q", spec=spec,
                                 statistic="pc1_share", range_lo=0.0, range_hi=1.0, n_bins=20,
                                 close_time=timezone.now() + timedelta(hours=1))
    link = MarketCampaign.objects.get(market=market)
    assert campaign_spec.seed_commitment(link.design_seed, link.salt) == market.spec["design_seed_commitment"]
    for url in (f"/markets/{market.pk}/", f"/markets/{market.pk}/report/"):
        page = Client().get(url)
        assert page.status_code == 200 and link.salt not in page.content.decode()
        assert "resolves in the bin that holds the estimate" in page.content.decode() or "report" in url
    forecast_place(user=UserFactory(), market=market,
                   distribution={"components": [{"center": 0.5, "spread": 0.1, "weight": 1.0}]})
    market_close(market=market.pk)
    link.refresh_from_db()
    _fill(link.campaign, 12, factor=2.0)
    result = campaign_market_decide(market_id=market.pk)
    assert result["action"] == "resolved", result
    market.refresh_from_db()
    assert market.status == "resolved" and market.outcome_value == pytest.approx(result["statistic"])
    assert market.outcome_bin == int(result["statistic"] * 20)
    assert campaign_market_decide(market_id=market.pk)["action"] == "already_settled"
    report = Client().get(f"/markets/{market.pk}/report/").content.decode()
    assert "holding the estimate" in report and str(link.design_seed) in report


def test_staff_can_resend_a_stage_and_annul_a_factor_market_and_nobody_else_can(
        django_capture_on_commit_callbacks):
    market = _open(threshold=0.125)
    market_close(market=market.pk)
    trader, staff = Client(), Client()
    trader.force_login(UserFactory())
    staff.force_login(UserFactory(is_staff=True))
    resend, annul = f"/markets/{market.pk}/campaign/resend/", f"/markets/{market.pk}/campaign/annul/"
    for client in (Client(), trader):  # anonymous and non-staff go to the admin login; nothing moves
        assert client.post(resend).status_code == 302
        assert client.post(annul, {"reason": "x"}).status_code == 302
    assert Market.objects.get(pk=market.pk).status == "closed"
    page = staff.get(f"/markets/{market.pk}/report/").content.decode()
    assert 'id="campaign-resend"' in page and 'id="campaign-annul"' in page
    assert 'id="campaign-resend"' not in trader.get(f"/markets/{market.pk}/report/").content.decode()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = staff.post(resend, follow=True)
    assert "unit(s) of the stage are sent" in response.content.decode() and len(callbacks) == 1
    assert "Give a reason" in staff.post(annul, {"reason": " "}, follow=True).content.decode()
    staff.post(annul, {"reason": "the workers are down for a week"})
    market.refresh_from_db()
    assert market.status == "annulled" and "the workers are down" in market.resolution_note


def test_the_admin_hides_the_seed_until_the_close_even_from_staff():
    market = _open()
    link = MarketCampaign.objects.get(market=market)
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = staff.get(f"/admin/market/marketcampaign/{market.pk}/change/").content.decode()
    assert "hidden until the market closes" in page and link.salt not in page
    assert link.salt not in staff.get("/admin/market/marketcampaign/").content.decode()
    market_close(market=market.pk)
    page = staff.get(f"/admin/market/marketcampaign/{market.pk}/change/").content.decode()
    assert link.salt in page and str(link.design_seed) in page


def test_the_leaderboard_and_calibration_filter_the_general_factors_markets():
    api = APIClient()
    board = api.get("/api/v1/leaderboard/?concept=g")
    assert board.status_code == 200 and board.json()["concept"] == "g"
    assert api.get("/api/v1/leaderboard/?concept=b").json()["concept"] == "B"  # letters in either case
    bad = api.get("/api/v1/leaderboard/?concept=zz")
    assert bad.status_code == 400 and "g for the general factor" in str(bad.json())
    assert api.get("/api/v1/calibration/?concept=g").status_code == 200
    page = Client().get("/leaderboard/?concept=g")
    assert page.status_code == 200 and "The general factor" in page.content.decode()
    assert Client().get("/leaderboard/?concept=zz").status_code == 404
