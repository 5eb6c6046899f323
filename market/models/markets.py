"""Markets (binary or numeric LMSR), positions and forecasts (one forecast = one trade).

A binary market keeps its state in ``q_yes``/``q_no``; a numeric market (docs/markets.md, "Numeric
markets") in ``q_bins``, one exact decimal per outcome bin stored as a JSON list of strings, and its
positions and forecasts likewise in ``shares_bins`` and ``deltas``/``prices_after``.
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from experiments.concepts import FACTOR, MARKET_CONCEPTS
from market import lmsr
from market.models.fields import PointsField

Concept = models.TextChoices(  # derived from experiments.concepts, the one owner of A–H and of g
    "Concept", [("FACTOR" if letter == FACTOR else letter, (letter, f"{letter}. {info.name}"))
                for letter, info in MARKET_CONCEPTS.items()]
)


class Comparator(models.TextChoices):
    GE = ">=", "≥"
    GT = ">", ">"
    LE = "<=", "≤"
    LT = "<", "<"


class MarketStatus(models.TextChoices):
    OPEN = "open", "open"
    CLOSED = "closed", "closed"
    RUNNING = "running", "running"
    RESOLVED = "resolved", "resolved"
    ANNULLED = "annulled", "annulled"


class MarketKind(models.TextChoices):
    BINARY = "binary", "binary (YES/NO)"
    NUMERIC = "numeric", "numeric (a distribution over the statistic)"


class Outcome(models.TextChoices):
    YES = "yes", "YES"
    NO = "no", "NO"


class Market(models.Model):
    title = models.CharField(max_length=200)
    concept = models.CharField(max_length=1, choices=Concept.choices, db_index=True)
    question = models.TextField()
    # Pre-registered resolution criterion, frozen when the market opens.
    spec = models.JSONField()
    spec_sha256 = models.CharField(max_length=64)
    statistic = models.CharField(max_length=64)
    kind = models.CharField(max_length=7, choices=MarketKind.choices, default=MarketKind.BINARY)
    comparator = models.CharField(max_length=2, choices=Comparator.choices, blank=True)  # binary only
    threshold = models.FloatField(null=True, blank=True)  # binary only
    # Numeric markets: [range_lo, range_hi] cut into n_bins equal bins; an open end adds an overflow bin.
    range_lo = models.FloatField(null=True, blank=True)
    range_hi = models.FloatField(null=True, blank=True)
    open_lower = models.BooleanField(default=False)
    open_upper = models.BooleanField(default=False)
    n_bins = models.PositiveSmallIntegerField(null=True, blank=True)  # interior bins, 2..200
    q_bins = models.JSONField(null=True, blank=True)  # outstanding shares per outcome (decimal strings)
    outcome_value = models.FloatField(null=True, blank=True)  # the run's statistic that resolved it
    outcome_bin = models.PositiveSmallIntegerField(null=True, blank=True)  # the outcome holding it
    confidence = models.FloatField(default=0.95)  # level of the bootstrap CI that must clear the threshold
    liquidity = models.FloatField(default=100.0)  # LMSR b, points
    q_yes = PointsField()  # outstanding YES shares
    q_no = PointsField()  # outstanding NO shares
    status = models.CharField(
        max_length=10, choices=MarketStatus.choices, default=MarketStatus.OPEN, db_index=True
    )
    outcome = models.CharField(max_length=3, choices=Outcome.choices, null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    close_time = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)  # resolution or annulment
    resolution_note = models.TextField(blank=True)

    class Meta:
        ordering = ["concept", "close_time", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(concept__in=list(Concept.values)), name="market_concept_valid"),
            models.CheckConstraint(
                condition=Q(kind="binary", comparator__in=list(Comparator.values), threshold__isnull=False)
                | Q(kind="numeric", range_lo__isnull=False, range_hi__gt=F("range_lo"), n_bins__gte=2,
                    n_bins__lte=200, q_bins__isnull=False),
                name="market_kind_fields",
            ),
            models.CheckConstraint(condition=Q(status__in=list(MarketStatus.values)), name="market_status_valid"),
            models.CheckConstraint(condition=Q(liquidity__gt=0), name="market_liquidity_positive"),
            models.CheckConstraint(
                condition=Q(confidence__gt=0, confidence__lt=1), name="market_confidence_in_unit_interval"
            ),
            models.CheckConstraint(
                condition=(
                    Q(status="resolved", kind="binary", outcome__in=["yes", "no"], resolved_at__isnull=False)
                    | Q(status="resolved", kind="numeric", outcome__isnull=True, outcome_bin__isnull=False,
                        resolved_at__isnull=False)
                    | Q(status="annulled", outcome__isnull=True, resolved_at__isnull=False)
                    | (Q(outcome__isnull=True, resolved_at__isnull=True) & ~Q(status__in=["resolved", "annulled"]))
                ),
                name="market_outcome_iff_resolved",
            ),
            models.CheckConstraint(
                condition=Q(status="open") | Q(closed_at__isnull=False), name="market_closed_at_once_closed"
            ),
            models.CheckConstraint(condition=Q(spec_sha256__regex=r"^[0-9a-f]{64}$"), name="market_spec_sha256_hex"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_numeric(self) -> bool:
        return self.kind == MarketKind.NUMERIC

    @property
    def is_campaign(self) -> bool:
        """Resolved by a survey campaign (a market on the general factor, docs/factor-markets.md)."""
        return isinstance(self.spec, dict) and self.spec.get("kind") == "survey_campaign"

    @property
    def n_outcomes(self) -> int:
        """Outcomes of the LMSR: 2 for a binary market; interior bins plus overflow bins otherwise."""
        if not self.is_numeric:
            return 2
        return int(self.n_bins) + int(self.open_lower) + int(self.open_upper)

    @property
    def probability(self) -> float | None:
        """Current LMSR price of YES (None for a numeric market)."""
        if self.is_numeric:
            return None
        return lmsr.price(float(self.q_yes), float(self.q_no), self.liquidity)

    @property
    def max_loss(self) -> float:
        """The maker's bounded loss b·ln n (b·ln 2 for a binary market), points."""
        return lmsr.max_loss(self.liquidity, self.n_outcomes)


class Position(models.Model):
    # No index of its own: the (user, market) unique constraint's index serves lookups by user.
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="positions",
                             db_index=False)
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="positions")
    shares_yes = PointsField()
    shares_no = PointsField()
    net_cost = PointsField()  # points paid for buys minus points received for sales
    shares_bins = models.JSONField(null=True, blank=True)  # numeric markets: shares per outcome (decimal strings)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "market"], name="position_one_per_user_market"),
            models.CheckConstraint(condition=Q(shares_yes__gte=0, shares_no__gte=0), name="position_shares_non_negative"),
        ]

    def __str__(self) -> str:
        return f"user {self.user_id} in market {self.market_id}: {self.shares_yes} YES / {self.shares_no} NO"


class Forecast(models.Model):
    """One forecast: the user moved the market price from ``probability_before`` to ``probability_after``."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="forecasts")
    # No index of its own: forecast_market_time (market, created_at) serves every lookup by market, and
    # each index is one more write on the forecast hot path.
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="forecasts", db_index=False)
    probability_before = models.FloatField(null=True, blank=True)  # binary markets (null: numeric)
    probability_after = models.FloatField(null=True, blank=True)
    delta_yes = PointsField()  # YES shares bought (> 0) or sold (< 0)
    delta_no = PointsField()  # NO shares bought (> 0) or sold (< 0)
    cost = PointsField()  # points paid (> 0) or received (< 0)
    # Numeric markets: the signed share change per outcome (decimal strings) and the distribution the
    # forecast moved the market to (floats summing to 1).
    deltas = models.JSONField(null=True, blank=True)
    prices_after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["market", "created_at"], name="forecast_market_time")]
        constraints = [
            models.CheckConstraint(
                condition=Q(probability_before__gt=0, probability_before__lt=1)
                | Q(probability_before__isnull=True, prices_after__isnull=False),
                name="forecast_before_in_unit_interval",
            ),
            models.CheckConstraint(
                condition=Q(probability_after__gt=0, probability_after__lt=1)
                | Q(probability_after__isnull=True, prices_after__isnull=False),
                name="forecast_after_in_unit_interval",
            ),
        ]

    def __str__(self) -> str:
        if self.probability_after is None:
            return f"user {self.user_id}: a distribution over {len(self.prices_after or [])} bins on {self.market_id}"
        return f"user {self.user_id}: {self.probability_before:.3f} → {self.probability_after:.3f} on {self.market_id}"
