"""Proposal services: submit (one message per bad field), approve (opens the market), reject, dry run."""
from datetime import timedelta

import pytest
from django.utils import timezone

from experiments import registry
from experiments.models import ExperimentRun
from market.models import LedgerEntry, Market, MarketStatus
from market.reconcile import ledger_reconcile
from proposals.models import Proposal, ProposalStatus
from proposals.services import (
    ProposalForbidden,
    ProposalInvalid,
    ProposalStateError,
    dry_run_spec,
    proposal_approve,
    proposal_create,
    proposal_dry_run,
    proposal_reject,
)
from tests.experiments.pipeline_support import eager_celery  # noqa: F401 - fixture
from tests.market.factories import UserFactory
from tests.proposals.support import proposal_body, with_params, with_spec

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def proposal(user):
    return proposal_create(proposer=user, data=proposal_body())


def errors_of(user, body) -> dict:
    with pytest.raises(ProposalInvalid) as caught:
        proposal_create(proposer=user, data=body)
    assert Proposal.objects.count() == 0
    return caught.value.errors


def test_a_valid_proposal_is_stored_pending_with_the_normalized_hashed_spec(user):
    proposal = proposal_create(proposer=user, data=proposal_body())
    assert proposal.status == ProposalStatus.PENDING and proposal.proposer == user
    assert proposal.spec == registry.validate_spec(proposal_body()["spec"])  # preset defaults filled in
    assert proposal.spec["params"]["steps"] == 120 and proposal.spec["params"]["noise"] == 0.4
    assert proposal.spec_sha256 == registry.spec_sha256(proposal.spec)
    assert proposal.estimated_cost["flops"] > 0 and proposal.estimated_cost["flops_cap"] == registry.MAX_FLOPS
    assert proposal.liquidity == 100.0 and proposal.market is None


def test_every_bad_field_gets_its_own_message(user):
    body = proposal_body(title="x", threshold=float("nan"), comparator="==", close_time="tomorrow", liquidity=-5)
    body["spec"]["params"]["steps"] = -1
    errors = errors_of(user, body)
    assert set(errors) == {"title", "threshold", "comparator", "close_time", "liquidity", "spec.params.steps"}
    assert all(len(messages) == 1 and messages[0] for messages in errors.values())
    assert "finite" in errors["threshold"][0] and "steps" in errors["spec.params.steps"][0]


def test_missing_fields_are_named(user):
    errors = errors_of(user, {"concept": "A"})
    assert set(errors) == {"title", "text", "spec", "statistic", "comparator", "threshold", "close_time"}


def test_the_statistic_must_be_the_concepts_statistic(user):
    errors = errors_of(user, proposal_body(statistic="accuracy"))
    assert set(errors) == {"statistic"} and "dis_ood" in errors["statistic"][0]


def test_the_spec_concept_must_equal_the_proposal_concept(user):
    errors = errors_of(user, proposal_body(concept="C", statistic="minority_fraction"))
    assert set(errors) == {"spec.concept"}


@pytest.mark.parametrize(
    "body, field",
    [
        (with_spec(code="import os; os.system('rm -rf /')"), "spec.code"),
        (with_spec(script="__import__('os')"), "spec.script"),
        (with_spec(path="/etc/passwd"), "spec.path"),
        (with_spec(url="https://evil.example/model.pt"), "spec.url"),
        (with_params(path="/etc/passwd"), "spec.params.path"),
        (with_params(weights_url="https://evil.example/w.pt"), "spec.params.weights_url"),
        (with_params(optimizer="file:///etc/passwd"), "spec.params.optimizer"),
        (with_params(optimizer="__import__('os').system('id')"), "spec.params.optimizer"),
        (with_params(steps="1e3; rm -rf /"), "spec.params.steps"),
        (with_spec(task="https://evil.example/task.py"), "spec.task"),
        (with_spec(task="../../etc/passwd"), "spec.task"),
        (with_spec(arch="torchvision.models.resnet50"), "spec.arch"),
        (with_spec(preset="/tmp/preset.json"), "spec.preset"),
        (with_spec(params=["steps", 10]), "spec.params"),
        (with_spec(params={"steps": {"$gt": 1}}), "spec.params.steps"),
    ],
)
def test_a_spec_can_carry_no_code_paths_or_urls(user, body, field):
    errors = errors_of(user, body)
    assert field in errors, errors


@pytest.mark.parametrize(
    "body, field",
    [
        (with_spec(seeds=10**6), "spec.seeds"),
        (with_spec(seeds=-3), "spec.seeds"),
        (with_spec(seeds=1), "spec.seeds"),
        (with_params(steps=10**9), "spec.params.steps"),
        (with_params(width=10**7), "spec.params.width"),
        (with_params(width=-1), "spec.params.width"),
        (with_params(lr=float("inf")), "spec.params.lr"),
        (with_spec(seeds=256, seed_budget=256, preset="default", params={"steps": 100_000, "width": 2048}), "spec.cost"),
    ],
)
def test_specs_outside_the_bounds_are_refused(user, body, field):
    assert field in errors_of(user, body)


def test_too_many_pending_proposals_are_refused(user, settings):
    settings.PATHMARKET = {**settings.PATHMARKET, "PROPOSALS_MAX_PENDING": 2}
    proposal_create(proposer=user, data=proposal_body())
    proposal_create(proposer=user, data=proposal_body())
    with pytest.raises(ProposalInvalid, match="waiting for review"):
        proposal_create(proposer=user, data=proposal_body())
    assert Proposal.objects.count() == 2


def test_approval_opens_a_market_with_the_frozen_spec_and_its_hash(proposal, staff):
    market = proposal_approve(proposal=proposal, reviewer=staff)
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.APPROVED and proposal.market == market
    assert proposal.reviewed_by == staff and proposal.reviewed_at is not None
    assert market.status == MarketStatus.OPEN and market.created_by == proposal.proposer
    assert market.spec == proposal.spec and market.spec_sha256 == proposal.spec_sha256
    assert (market.title, market.question, market.concept) == (proposal.title, proposal.text, proposal.concept)
    assert (market.statistic, market.comparator, market.threshold) == ("dis_ood", ">=", 0.03)
    assert LedgerEntry.objects.filter(market=market, kind=LedgerEntry.Kind.SUBSIDY).count() == 1
    assert ledger_reconcile().ok


def test_only_staff_approve_or_reject(proposal, user, other_user):
    for actor in (user, other_user):
        with pytest.raises(ProposalForbidden):
            proposal_approve(proposal=proposal, reviewer=actor)
        with pytest.raises(ProposalForbidden):
            proposal_reject(proposal=proposal, reviewer=actor, reason="no")
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING and Market.objects.count() == 0


def test_a_proposal_is_reviewed_once(proposal, staff):
    proposal_approve(proposal=proposal, reviewer=staff)
    with pytest.raises(ProposalStateError):
        proposal_approve(proposal=proposal, reviewer=staff)
    with pytest.raises(ProposalStateError):
        proposal_reject(proposal=proposal, reviewer=staff, reason="too late")
    assert Market.objects.count() == 1


def test_approving_after_the_close_time_passed_keeps_it_pending(proposal, staff):
    Proposal.objects.filter(pk=proposal.pk).update(close_time=timezone.now() - timedelta(minutes=1))
    with pytest.raises(ProposalInvalid) as caught:
        proposal_approve(proposal=proposal, reviewer=staff)
    assert "close_time" in caught.value.errors
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING and Market.objects.count() == 0
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.SUBSIDY).count() == 0


@pytest.mark.parametrize("reason", ["", "   ", None, 42, "x" * 2001])
def test_a_rejection_needs_a_reason(proposal, staff, reason):
    with pytest.raises(ProposalInvalid) as caught:
        proposal_reject(proposal=proposal, reviewer=staff, reason=reason)
    assert "reason" in caught.value.errors
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.PENDING


def test_rejection_stores_the_reason(proposal, staff):
    proposal_reject(proposal=proposal, reviewer=staff, reason="Threshold is below the noise floor.")
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.REJECTED
    assert proposal.rejection_reason == "Threshold is below the noise floor."
    assert proposal.market is None


def test_the_dry_run_spec_is_the_tiny_preset_keeping_the_proposers_other_choices(user):
    body = with_params(steps=1000, width=64, noise=0.5)
    body["spec"]["preset"] = "default"
    proposal = proposal_create(proposer=user, data=body)
    tiny = registry.validate_spec({"concept": "A", "task": "digits", "preset": "tiny"})
    spec = dry_run_spec(proposal.spec)
    assert spec["preset"] == "tiny" and spec["seeds"] == tiny["seeds"] == spec["seed_budget"]
    assert spec["params"]["steps"] == tiny["params"]["steps"]  # shrunk by the tiny preset
    assert spec["params"]["width"] == tiny["params"]["width"]
    assert spec["params"]["noise"] == 0.5  # not a size knob: the proposer's value is kept
    assert (spec["task"], spec["arch"]) == ("digits", "mlp")


def test_a_dry_run_queues_a_tiny_run_for_the_proposer(proposal, user):
    run = proposal_dry_run(proposal=proposal, user=user)
    assert run.purpose == ExperimentRun.Purpose.DRY_RUN and not hasattr(run, "market_link")
    assert run.status == ExperimentRun.Status.QUEUED and run.requested_by == user
    assert run.spec == dry_run_spec(proposal.spec)
    proposal.refresh_from_db()
    assert proposal.dry_run == run
    # While it is queued or running, asking again returns the same run.
    assert proposal_dry_run(proposal=proposal, user=user) == run
    assert ExperimentRun.objects.count() == 1


def test_staff_may_dry_run_but_other_users_may_not(proposal, staff, other_user):
    with pytest.raises(ProposalForbidden):
        proposal_dry_run(proposal=proposal, user=other_user)
    # Run by staff, it still belongs to the proposal's author (who sees its progress).
    assert proposal_dry_run(proposal=proposal, user=staff).requested_by == proposal.proposer


def test_a_finished_dry_run_can_be_repeated_but_not_after_review(proposal, user, staff):
    first = proposal_dry_run(proposal=proposal, user=user)
    ExperimentRun.objects.filter(pk=first.pk).update(status=ExperimentRun.Status.FAILED)
    second = proposal_dry_run(proposal=proposal, user=user)
    assert second.pk != first.pk
    proposal_reject(proposal=proposal, reviewer=staff, reason="no")
    with pytest.raises(ProposalStateError):
        proposal_dry_run(proposal=proposal, user=user)


def test_a_dry_run_really_trains_the_tiny_spec(user, eager_celery, django_capture_on_commit_callbacks):  # noqa: F811
    """End to end through the pipeline (Celery eager): the tiny run succeeds and yields the statistic."""
    proposal = proposal_create(proposer=user, data=proposal_body())
    with django_capture_on_commit_callbacks(execute=True):
        run = proposal_dry_run(proposal=proposal, user=user)
    run.refresh_from_db()
    assert run.status == ExperimentRun.Status.SUCCEEDED, run.error
    assert run.progress == 1.0 and run.statistic is not None and run.ci_low <= run.statistic <= run.ci_high
    assert run.statistic_name == "dis_ood" and run.decision == ""  # a dry run decides nothing
    assert Market.objects.count() == 0
