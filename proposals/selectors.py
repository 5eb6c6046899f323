"""Reads of proposals. A proposal is private: its proposer and staff see it, nobody else."""
from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from proposals.models import Proposal, ProposalStatus


def proposal_list(*, user: AbstractBaseUser, status: str | None = None, mine: bool = False) -> QuerySet[Proposal]:
    """The user's own proposals, or every proposal for staff (``mine=True``: own ones only), newest first."""
    qs = Proposal.objects.select_related("proposer", "reviewed_by", "market", "dry_run")
    if not user.is_authenticated:
        return qs.none()
    if mine or not user.is_staff:
        qs = qs.filter(proposer=user)
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-id")


def proposal_review_queue(*, user: AbstractBaseUser) -> QuerySet[Proposal]:
    """Staff: pending proposals of everyone, oldest first (first come, first reviewed)."""
    if not (user.is_authenticated and user.is_staff):
        return Proposal.objects.none()
    return (
        Proposal.objects.select_related("proposer", "dry_run")
        .filter(status=ProposalStatus.PENDING)
        .order_by("created_at", "id")
    )


def proposal_get(*, user: AbstractBaseUser, proposal_id: int) -> Proposal:
    """A proposal the user may see; ``Proposal.DoesNotExist`` otherwise (also for other people's ids)."""
    return proposal_list(user=user).get(pk=proposal_id)
