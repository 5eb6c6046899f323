"""Admin: markets, positions, forecasts and the ledger are read-only records; lifecycle changes go
through the services (close, resolve, annul) as admin actions, never through field edits."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from market.exceptions import MarketStateError
from market.models import Account, Forecast, LedgerEntry, Market, MarketCampaign, Position
from market.services import market_annul, market_close, market_resolve


def _run(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet, action, verb: str) -> None:
    done = 0
    for market in queryset:
        try:
            action(market)
            done += 1
        except (MarketStateError, ValueError) as exc:
            modeladmin.message_user(request, f"#{market.pk}: {exc}", messages.ERROR)
    modeladmin.message_user(request, f"{verb} {done} market(s).", messages.SUCCESS)


@admin.action(description="Close (stop forecasting)")
def close_markets(modeladmin, request, queryset):  # noqa: ANN001
    _run(modeladmin, request, queryset, lambda m: market_close(market=m), "Closed")


@admin.action(description="Resolve YES (pays winning shares once)")
def resolve_yes(modeladmin, request, queryset):  # noqa: ANN001
    note = f"resolved YES by {request.user.get_username()} in the admin"
    _run(modeladmin, request, queryset, lambda m: market_resolve(market=m, outcome="yes", note=note), "Resolved")


@admin.action(description="Resolve NO (pays winning shares once)")
def resolve_no(modeladmin, request, queryset):  # noqa: ANN001
    note = f"resolved NO by {request.user.get_username()} in the admin"
    _run(modeladmin, request, queryset, lambda m: market_resolve(market=m, outcome="no", note=note), "Resolved")


@admin.action(description="Annul (refund every net cost)")
def annul_markets(modeladmin, request, queryset):  # noqa: ANN001
    reason = f"annulled by {request.user.get_username()} in the admin"
    _run(modeladmin, request, queryset, lambda m: market_annul(market=m, reason=reason), "Annulled")


@admin.register(Market)
class MarketAdmin(ReadOnlyAdmin):
    list_display = ("id", "title", "concept", "status", "outcome", "close_time", "liquidity")
    list_filter = ("concept", "status", "outcome")
    search_fields = ("title", "question", "spec_sha256")
    actions = [close_markets, resolve_yes, resolve_no, annul_markets]


@admin.register(Position)
class PositionAdmin(ReadOnlyAdmin):
    list_display = ("user", "market", "shares_yes", "shares_no", "net_cost", "updated_at")
    list_select_related = ("user", "market")


@admin.register(Forecast)
class ForecastAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "market", "probability_before", "probability_after", "cost", "created_at")
    list_select_related = ("user", "market")


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "user", "market", "balance")
    list_filter = ("kind",)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "debit_account", "credit_account", "amount", "market", "created_at", "memo")
    list_filter = ("kind",)


@admin.register(MarketCampaign)
class MarketCampaignAdmin(ReadOnlyAdmin):
    """A factor market's campaign link. The design seed and salt are shown only once revealed at the close:
    not even staff may know the design while forecasting is open (docs/factor-markets.md)."""

    list_display = ("market", "revealed_at", "campaign", "rows_planned", "rows_decided", "seed")
    fields = ("market", "revealed_at", "campaign", "rows_planned", "rows_decided", "started_at",
              "stage_started_at", "seed", "decisions", "error")
    readonly_fields = fields
    exclude = ("design_seed", "salt", "report")

    @admin.display(description="design seed (salt)")
    def seed(self, obj: MarketCampaign) -> str:
        return f"{obj.design_seed} ({obj.salt})" if obj.revealed else "hidden until the market closes"
