"""A factor market's survey campaign: the hidden design seed, and the link to the campaign it runs.

A market on the general factor (concept ``g``, docs/factor-markets.md) pre-registers a campaign spec
whose SHA-256 covers a *commitment* to the design seed, not the seed. The seed and its salt live here,
drawn when the market opens; they are shown nowhere (pages, API, admin) until the market closes and
``revealed_at`` is set. At close the design is drawn from the seed and run as a
``experiments.SurveyCampaign``; ``rows_planned`` is the current stage (a prefix of the design), and
``rows_decided`` the last stage the decision rule has seen, so a redelivered decision task is a no-op.
"""
from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from experiments.survey.models import SurveyCampaign
from market.models.markets import Market


class MarketCampaign(models.Model):
    """The survey campaign that resolves ``market`` (one per factor market)."""

    market = models.OneToOneField(Market, primary_key=True, on_delete=models.CASCADE,
                                  related_name="campaign_link")
    design_seed = models.PositiveBigIntegerField()  # hidden until revealed_at
    salt = models.CharField(max_length=64)  # hidden until revealed_at
    revealed_at = models.DateTimeField(null=True, blank=True)
    campaign = models.ForeignKey(SurveyCampaign, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="market_links")
    rows_planned = models.PositiveIntegerField(default=0)  # rows of the current stage (0 before close)
    rows_decided = models.PositiveIntegerField(default=0)  # the stage the decision rule last decided
    started_at = models.DateTimeField(null=True, blank=True)
    stage_started_at = models.DateTimeField(null=True, blank=True)
    # One entry per decided stage: {rows, statistic, ci_low, ci_high, outcome, reason, at}
    decisions = models.JSONField(default=list, blank=True)
    report = models.JSONField(null=True, blank=True)  # the factor estimate of the latest decided stage
    error = models.TextField(blank=True, default="")  # why the campaign could not start, if it could not

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(rows_decided__lte=F("rows_planned")),
                                   name="market_campaign_decided_le_planned"),
            models.CheckConstraint(condition=Q(revealed_at__isnull=False) | Q(campaign__isnull=True),
                                   name="market_campaign_runs_after_reveal"),
        ]

    def __str__(self) -> str:
        return f"market {self.market_id} · campaign {self.campaign_id or '(not started)'}"

    @property
    def revealed(self) -> bool:
        return self.revealed_at is not None
