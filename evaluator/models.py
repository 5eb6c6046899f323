"""Stored results of the evaluator: scores per (market, forecaster, kind), the community series, and
the cells of the general-factor matrix (setups × concepts)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from experiments.concepts import LETTERS


class ForecasterKind(models.TextChoices):
    USER = "user", "user"
    MARKET_PRICE = "market_price", "market price"  # the LMSR price, scored as a pseudo-forecaster
    COMMUNITY = "community", "community aggregate"  # recency-weighted median, a pseudo-forecaster


class ScoreKind(models.TextChoices):
    BASELINE = "baseline", "baseline score"  # time-averaged 100·(log2 p + 1)
    PEER = "peer", "peer score"  # time-averaged 100·(ln p − mean of the others' ln p)
    BRIER = "brier", "Brier score of the last forecast"  # (p − o)², lower is better
    LOG_LOSS = "log_loss", "log loss of the last forecast"  # −ln p(outcome), lower is better
    # Numeric markets only (evaluator.numeric): scores of the last distribution before close.
    LOG_DENSITY = "log_dens", "log score of the bin density"  # ln(p_k / w_k), higher is better
    CRPS = "crps", "CRPS"  # in the statistic's units, lower is better


class Score(models.Model):
    """One score of one forecaster (a user or a pseudo-forecaster) on one resolved market.

    Rows are written only by ``evaluator.services.market_scores_recompute``, which deletes and
    re-creates all of a market's rows in one transaction.
    """

    market = models.ForeignKey("market.Market", on_delete=models.CASCADE, related_name="scores")
    forecaster = models.CharField(max_length=12, choices=ForecasterKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="scores"
    )
    kind = models.CharField(max_length=10, choices=ScoreKind.choices)
    value = models.FloatField()
    coverage = models.FloatField()  # share of the open window covered by a standing forecast, [0, 1]
    probability = models.FloatField()  # last probability of YES (numeric: of the outcome bin) before close, (0, 1)
    outcome = models.BooleanField()  # True = resolved YES (numeric markets: always True, the bin happened)
    numeric = models.BooleanField(default=False)  # a numeric market's score (binary calibration leaves it out)
    pit = models.FloatField(null=True, blank=True)  # numeric: F(outcome) of the last distribution, [0, 1]
    n_forecasts = models.PositiveIntegerField(default=0)
    concept = models.CharField(max_length=1, db_index=True)  # copy of market.concept, for filters
    resolved_at = models.DateTimeField()  # copy of market.resolved_at, for histories
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["resolved_at", "market_id", "forecaster", "user_id", "kind"]
        indexes = [models.Index(fields=["kind", "forecaster", "concept"], name="score_kind_forecaster")]
        constraints = [
            models.UniqueConstraint(
                fields=["market", "user", "kind"], condition=Q(user__isnull=False), name="score_one_per_user_kind"
            ),
            models.UniqueConstraint(
                fields=["market", "forecaster", "kind"],
                condition=Q(user__isnull=True),
                name="score_one_per_pseudo_forecaster_kind",
            ),
            models.CheckConstraint(
                condition=(Q(forecaster="user", user__isnull=False) | (~Q(forecaster="user") & Q(user__isnull=True))),
                name="score_user_iff_user_forecaster",
            ),
            models.CheckConstraint(
                condition=Q(forecaster__in=list(ForecasterKind.values)), name="score_forecaster_valid"
            ),
            models.CheckConstraint(condition=Q(kind__in=list(ScoreKind.values)), name="score_kind_valid"),
            models.CheckConstraint(condition=Q(coverage__gte=0, coverage__lte=1), name="score_coverage_unit"),
            models.CheckConstraint(
                condition=Q(probability__gt=0, probability__lt=1), name="score_probability_open_unit"
            ),
        ]

    def __str__(self) -> str:
        who = f"user {self.user_id}" if self.user_id else self.forecaster
        return f"{who} on market {self.market_id}: {self.kind} {self.value:.2f}"


class CommunityPoint(models.Model):
    """The community aggregate after the forecasts made at ``time`` (frozen at resolution)."""

    market = models.ForeignKey("market.Market", on_delete=models.CASCADE, related_name="community_points")
    time = models.DateTimeField()
    probability = models.FloatField()  # probability of YES, [0, 1]
    n_forecasters = models.PositiveIntegerField()

    class Meta:
        ordering = ["market_id", "time"]
        constraints = [
            models.UniqueConstraint(fields=["market", "time"], name="community_point_one_per_time"),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=1), name="community_point_probability_unit"
            ),
        ]

    def __str__(self) -> str:
        return f"market {self.market_id} @ {self.time:%Y-%m-%d %H:%M}: {self.probability:.3f}"


class FactorSource(models.TextChoices):
    RUN = "run", "market run"  # a succeeded ExperimentRun (the pipeline's finalizer)
    SUITE = "suite", "suite"  # manage.py populate_factor


class FactorCell(models.Model):
    """One cell of the general-factor matrix: concept ``concept``'s statistic on setup ``setup``.

    ``setup`` is the row key (task × architecture × setting, e.g. ``"modadd/transformer/tiny"``);
    ``statistic`` is oriented so that higher means more path-dependent.
    """

    setup = models.CharField(max_length=200)
    task = models.CharField(max_length=40)
    arch = models.CharField(max_length=40)
    concept = models.CharField(max_length=1)
    statistic = models.FloatField()
    run_id = models.BigIntegerField(null=True, blank=True)  # experiments.ExperimentRun id, when from a run
    source = models.CharField(max_length=5, choices=FactorSource.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["setup", "concept"]
        constraints = [
            models.UniqueConstraint(fields=["setup", "concept"], name="factor_cell_one_per_setup_concept"),
            models.CheckConstraint(
                condition=Q(concept__in=list(LETTERS)), name="factor_cell_concept_valid"
            ),
            models.CheckConstraint(condition=Q(source__in=list(FactorSource.values)), name="factor_cell_source_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.setup} · {self.concept} = {self.statistic:.4g}"
