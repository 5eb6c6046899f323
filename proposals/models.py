"""Proposals: a user's suggestion of a new market, reviewed by staff (docs/proposals.md)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from experiments.models import ExperimentRun
from market.models.markets import Comparator, Concept, Market


class ProposalStatus(models.TextChoices):
    PENDING = "pending", "pending review"
    APPROVED = "approved", "approved"
    REJECTED = "rejected", "rejected"


TITLE_MAX_LENGTH = 200
TEXT_MAX_LENGTH = 8_000  # characters of Markdown (rendering cost grows with length × brackets)
REASON_MAX_LENGTH = 2_000


class Proposal(models.Model):
    """A proposed market: question, pre-registered criterion (spec already normalized and hashed) and terms."""

    proposer = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="proposals")
    concept = models.CharField(max_length=1, choices=Concept.choices)
    title = models.CharField(max_length=TITLE_MAX_LENGTH)
    text = models.TextField(max_length=TEXT_MAX_LENGTH)  # Markdown, sanitised when rendered
    spec = models.JSONField()  # normalized by experiments.registry.validate_spec at submission
    spec_sha256 = models.CharField(max_length=64)
    statistic = models.CharField(max_length=64)
    comparator = models.CharField(max_length=2, choices=Comparator.choices)
    threshold = models.FloatField()
    close_time = models.DateTimeField()
    liquidity = models.FloatField()  # LMSR b of the market to open, points
    estimated_cost = models.JSONField(default=dict, blank=True)  # experiments.registry.estimate_cost at submission

    status = models.CharField(max_length=10, choices=ProposalStatus.choices, default=ProposalStatus.PENDING)
    rejection_reason = models.TextField(max_length=REASON_MAX_LENGTH, blank=True, default="")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    market = models.OneToOneField(
        Market, null=True, blank=True, on_delete=models.PROTECT, related_name="proposal"
    )
    # The latest tiny-preset check of the spec (earlier ones stay in experiments.ExperimentRun).
    dry_run = models.ForeignKey(
        ExperimentRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "market_proposal"  # the table the market app created (proposals moved here with its rows)
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["status", "created_at"], name="proposal_status_time")]
        constraints = [
            models.CheckConstraint(condition=Q(concept__in=list(Concept.values)), name="proposal_concept_valid"),
            models.CheckConstraint(
                condition=Q(comparator__in=list(Comparator.values)), name="proposal_comparator_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=list(ProposalStatus.values)), name="proposal_status_valid"
            ),
            models.CheckConstraint(condition=Q(liquidity__gt=0), name="proposal_liquidity_positive"),
            models.CheckConstraint(
                condition=Q(spec_sha256__regex=r"^[0-9a-f]{64}$"), name="proposal_spec_sha256_hex"
            ),
            # An approved proposal has its market; a rejected one has a reason; a pending one neither.
            models.CheckConstraint(
                condition=(
                    Q(status="approved", market__isnull=False, reviewed_at__isnull=False)
                    | (Q(status="rejected", market__isnull=True, reviewed_at__isnull=False) & ~Q(rejection_reason=""))
                    | Q(status="pending", market__isnull=True, reviewed_at__isnull=True)
                ),
                name="proposal_review_consistent",
            ),
        ]

    def __str__(self) -> str:
        return f"proposal #{self.pk} ({self.status}): {self.title}"
