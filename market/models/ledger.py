"""Accounts and the double-entry ledger. Every movement of points is one LedgerEntry; an account's
balance is the sum of its credits minus the sum of its debits (checked by ``manage.py reconcile``)."""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from market.models.fields import PointsField


class Account(models.Model):
    class Kind(models.TextChoices):
        USER = "user", "user"
        HOUSE = "house", "house"  # issues grants and subsidies; the only account allowed below zero
        MAKER = "maker", "market maker"  # one per market: holds the subsidy and the traders' payments

    kind = models.CharField(max_length=8, choices=Kind.choices)
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="account"
    )
    market = models.OneToOneField(
        "market.Market", null=True, blank=True, on_delete=models.PROTECT, related_name="maker_account"
    )
    # Cached sum of the ledger (credits − debits), updated in the same transaction as each entry.
    balance = PointsField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(balance__gte=0) | Q(kind="house"), name="account_balance_non_negative"
            ),
            models.CheckConstraint(
                condition=(
                    Q(kind="user", user__isnull=False, market__isnull=True)
                    | Q(kind="maker", user__isnull=True, market__isnull=False)
                    | Q(kind="house", user__isnull=True, market__isnull=True)
                ),
                name="account_kind_matches_owner",
            ),
            models.CheckConstraint(condition=Q(kind__in=["user", "house", "maker"]),
                                   name="account_kind_valid"),
            # At most one house account.
            models.UniqueConstraint(fields=["kind"], condition=Q(kind="house"), name="account_single_house"),
        ]

    def __str__(self) -> str:
        if self.kind == self.Kind.USER:
            return f"user:{self.user_id}"
        if self.kind == self.Kind.MAKER:
            return f"maker:market-{self.market_id}"
        return "house"


class LedgerEntry(models.Model):
    """``amount`` points move from ``debit_account`` to ``credit_account``."""

    class Kind(models.TextChoices):
        GRANT = "grant", "signup grant"
        TRADE = "trade", "trade"
        PAYOUT = "payout", "payout"
        REFUND = "refund", "refund"
        SUBSIDY = "subsidy", "subsidy"
        SETTLEMENT = "settlement", "settlement"
        REVERSAL = "reversal", "payout reversal"  # a re-resolution takes back the old outcome's payouts

    kind = models.CharField(max_length=12, choices=Kind.choices)
    debit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="debits")
    credit_account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="credits")
    amount = PointsField(default=None)  # points, > 0
    market = models.ForeignKey(
        "market.Market", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    forecast = models.ForeignKey(
        "market.Forecast", null=True, blank=True, on_delete=models.PROTECT, related_name="ledger_entries"
    )
    memo = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=F("credit_account")), name="ledger_distinct_accounts"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["grant", "trade", "payout", "refund", "subsidy", "settlement",
                                      "reversal"]),
                name="ledger_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind="grant") | Q(market__isnull=False), name="ledger_market_entries_name_market"
            ),
            models.CheckConstraint(
                condition=~Q(kind="trade") | Q(forecast__isnull=False), name="ledger_trade_names_forecast"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.debit_account} → {self.credit_account}"
