"""Proposals (docs/proposals.md): submit, approve (opens the market), reject with a reason, dry-run the spec.

Every function checks who may act, so the API, the web pages and the admin follow the same rules.
"""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from market.exceptions import MarketError
from market.models import Market
from market.services.lifecycle import market_open
from market.signals import proposal_reviewed_on_commit
from market.specs import CriterionError, spec_sha256
from proposals.input import cost_estimate, proposal_clean, reason_clean
from proposals.models import Proposal, ProposalStatus


class ProposalInvalid(MarketError, ValueError):
    """Bad proposal input; ``errors`` maps each bad field (``spec.params.steps`` …) to its messages."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        self.errors = errors
        field, messages = next(iter(errors.items()))
        super().__init__(messages[0] if field in ("non_field_errors", "detail") else f"{field}: {messages[0]}")


class ProposalForbidden(MarketError):
    """The user may not do this to this proposal."""


class ProposalStateError(MarketError):
    """The action does not apply in the proposal's current status (e.g. approving a rejected proposal)."""


def _pm(key: str, default: Any) -> Any:
    return settings.PATHMARKET.get(key, default)


def proposal_visible_to(*, proposal: Proposal, user: AbstractBaseUser) -> bool:
    """Proposals are private to their proposer and to staff."""
    return bool(user.is_authenticated and (user.is_staff or proposal.proposer_id == user.pk))


def proposal_create(*, proposer: AbstractBaseUser, data: Any) -> Proposal:
    """Validate every field (one message per bad field) and store a PENDING proposal with the normalized,
    hashed spec and its estimated compute cost."""
    if not proposer.is_authenticated:
        raise ProposalForbidden("Log in to propose a market.")
    clean, errors = proposal_clean(data)
    if errors:
        raise ProposalInvalid(errors)
    assert clean is not None

    limit = int(_pm("PROPOSALS_MAX_PENDING", 10))
    with transaction.atomic():
        pending = Proposal.objects.filter(proposer=proposer, status=ProposalStatus.PENDING).count()
        if pending >= limit:
            raise ProposalInvalid({"non_field_errors": [
                f"You already have {pending} proposals waiting for review (the most allowed is {limit}); "
                "wait for a decision before proposing more."
            ]})
        return Proposal.objects.create(
            proposer=proposer,
            concept=clean.concept,
            title=clean.title,
            text=clean.text,
            spec=clean.spec,
            spec_sha256=spec_sha256(clean.spec),
            statistic=clean.statistic,
            comparator=clean.comparator,
            threshold=clean.threshold,
            close_time=clean.close_time,
            liquidity=clean.liquidity,
            estimated_cost=cost_estimate(clean.spec),
        )


def _require_staff(user: AbstractBaseUser, action: str) -> None:
    if not (user.is_authenticated and user.is_staff):
        raise ProposalForbidden(f"Only staff can {action} proposals.")


def _locked_pending(proposal: Proposal | int) -> Proposal:
    pk = proposal.pk if isinstance(proposal, Proposal) else int(proposal)
    locked = Proposal.objects.select_for_update().get(pk=pk)
    if locked.status != ProposalStatus.PENDING:
        raise ProposalStateError(f"Proposal #{locked.pk} is already {locked.status}.")
    return locked


def proposal_approve(*, proposal: Proposal | int, reviewer: AbstractBaseUser) -> Market:
    """Staff: open the proposed market (frozen spec + SHA-256, subsidy booked) and mark the proposal approved.

    Raises ProposalInvalid when the criterion no longer validates (for example the close time has passed
    while the proposal waited); the proposal then stays pending so staff can reject it with a reason.
    """
    _require_staff(reviewer, "approve")
    with transaction.atomic():
        locked = _locked_pending(proposal)
        try:
            market = market_open(
                title=locked.title, concept=locked.concept, question=locked.text, spec=locked.spec,
                statistic=locked.statistic, comparator=locked.comparator, threshold=locked.threshold,
                close_time=locked.close_time, liquidity=locked.liquidity, created_by=locked.proposer,
            )
        except CriterionError as exc:
            raise ProposalInvalid({exc.field: [f"cannot open the market: {exc.message}"]}) from exc
        # A campaign spec gains its design-seed commitment when the market opens: compare without it.
        opened = {k: v for k, v in market.spec.items() if k != "design_seed_commitment"}
        if spec_sha256(opened) != locked.spec_sha256:
            # The registry normalizes differently than at submission: the market would not be what was reviewed.
            raise ProposalInvalid({"spec": [
                "the experiments registry now normalizes this spec differently than when it was proposed; "
                "reject it and ask for a new proposal."
            ]})
        locked.status = ProposalStatus.APPROVED
        locked.market = market
        locked.reviewed_by = reviewer
        locked.reviewed_at = timezone.now()
        locked.save(update_fields=["status", "market", "reviewed_by", "reviewed_at", "updated_at"])
        proposal_reviewed_on_commit(proposal_id=locked.pk, status=locked.status)
    return market


def proposal_reject(*, proposal: Proposal | int, reviewer: AbstractBaseUser, reason: Any) -> Proposal:
    """Staff: reject a pending proposal with a reason the proposer sees."""
    _require_staff(reviewer, "reject")
    try:
        reason = reason_clean(reason)
    except CriterionError as exc:
        raise ProposalInvalid({exc.field: [exc.message]}) from None
    with transaction.atomic():
        locked = _locked_pending(proposal)
        locked.status = ProposalStatus.REJECTED
        locked.rejection_reason = reason
        locked.reviewed_by = reviewer
        locked.reviewed_at = timezone.now()
        locked.save(update_fields=["status", "rejection_reason", "reviewed_by", "reviewed_at", "updated_at"])
        proposal_reviewed_on_commit(proposal_id=locked.pk, status=locked.status)
    return locked


def dry_run_spec(spec: dict) -> dict:
    """The ``tiny`` version of a normalized spec: same concept, task and architecture, the tiny preset's
    seeds, and the tiny value of every parameter the tiny preset shrinks (steps, width, bootstrap size …);
    the proposer's other parameter choices are kept, so the dry run checks the spec as proposed."""
    from experiments.registry import validate_spec
    from proposals.input import registry_catalog

    presets = registry_catalog()[spec["concept"]]["tasks"][spec["task"]]["presets"]
    tiny, default = presets["tiny"], presets["default"]
    params = {
        name: (tiny["params"][name] if tiny["params"].get(name) != default["params"].get(name) else value)
        for name, value in spec["params"].items()
        if name in tiny["params"]
    }
    return validate_spec({
        "concept": spec["concept"], "task": spec["task"], "arch": spec["arch"], "preset": "tiny",
        "seeds": tiny["seeds"], "seed_budget": tiny["seeds"], "params": params,
    })


def proposal_dry_run(*, proposal: Proposal | int, user: AbstractBaseUser):  # -> experiments.models.ExperimentRun
    """Queue a tiny-preset run of the proposal's spec (proposer or staff; pending proposals only).

    A dry run that is still queued or running is returned instead of starting another one.
    """
    from experiments.models import ExperimentRun
    from experiments.services import RunError, run_enqueue

    pk = proposal.pk if isinstance(proposal, Proposal) else int(proposal)
    with transaction.atomic():
        locked = Proposal.objects.select_for_update(of=("self",)).select_related("dry_run").get(pk=pk)
        if not proposal_visible_to(proposal=locked, user=user):
            raise ProposalForbidden("Only the proposer and staff can dry-run a proposal.")
        if locked.status != ProposalStatus.PENDING:
            raise ProposalStateError(f"Proposal #{locked.pk} is {locked.status}; only pending proposals are dry-run.")
        active = locked.dry_run
        if active is not None and active.status in (ExperimentRun.Status.QUEUED, ExperimentRun.Status.RUNNING):
            return active
        if locked.spec.get("kind") == "survey_campaign":
            raise ProposalInvalid({"spec": [
                "a survey campaign has no dry run: its design is drawn at the close from a seed nobody sees "
                "before. To try the axes, run `python manage.py survey plan --rows 3 --seed 1 --preset tiny` "
                "and `survey run --inline` locally (docs/factor-markets.md)."]})
        try:
            spec = dry_run_spec(locked.spec)
        except (KeyError, ValueError) as exc:
            raise ProposalInvalid({"spec": [f"the tiny version of this spec is not valid: {exc}"[:500]]}) from exc
        cap = float(_pm("DRY_RUN_MAX_CPU_SECONDS", 300))
        seconds = cost_estimate(spec)["cpu_seconds_estimate"]
        if seconds > cap:
            raise ProposalInvalid({"spec": [
                f"the tiny version of this spec is estimated at {seconds:.0f} CPU seconds, above the dry-run "
                f"limit of {cap:.0f} s; use smaller parameters."
            ]})
        try:
            # The run belongs to the proposal (its proposer sees it, whoever asked for it).
            run = run_enqueue(spec=spec, purpose=ExperimentRun.Purpose.DRY_RUN, requested_by=locked.proposer)
        except RunError as exc:
            raise ProposalInvalid({"spec": [str(exc)[:500]]}) from exc
        locked.dry_run = run
        locked.save(update_fields=["dry_run", "updated_at"])
    return run
