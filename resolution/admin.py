"""Admin of experiment runs, each with its market: status at a glance, the error of a failed run, and
staff actions (registered here, not in experiments, because it shows and acts on the market too)."""
from __future__ import annotations

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html

from experiments.models import ExperimentRun, RunSeed
from resolution import services


class RunSeedInline(admin.TabularInline):
    model = RunSeed
    extra = 0
    can_delete = False
    fields = ("seed", "behaviour", "values", "device", "worker", "wall_seconds")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ExperimentRun)
class ExperimentRunAdmin(admin.ModelAdmin):
    list_display = ("id", "market", "purpose", "status", "progress_pct", "decision", "statistic", "ci",
                    "created_at")
    list_filter = ("status", "purpose", "decision")
    search_fields = ("id", "spec_sha256", "market_link__market__title", "message")
    list_select_related = ("market_link__market",)
    actions = ("requeue_runs", "verify_runs")
    inlines = [RunSeedInline]
    readonly_fields = (
        "market", "purpose", "verifies", "requested_by", "status", "progress", "message", "error", "spec",
        "spec_sha256", "criterion", "seeds", "seed_budget", "round", "statistic_name", "statistic", "ci_low",
        "ci_high", "details", "decision", "decision_reason", "history", "provenance", "artifacts",
        "settlement", "created_at", "started_at", "finished_at", "updated_at", "report_link",
    )
    exclude = ("result",)

    def has_add_permission(self, request) -> bool:
        return False  # runs are created by closing a market, a proposal's dry run, or these actions

    @admin.display(description="market")
    def market(self, run: ExperimentRun):
        link = getattr(run, "market_link", None)
        return link.market if link is not None else None

    @admin.display(description="progress")
    def progress_pct(self, run: ExperimentRun) -> str:
        return f"{run.progress:.0%}"

    @admin.display(description="CI")
    def ci(self, run: ExperimentRun) -> str:
        if run.ci_low is None or run.ci_high is None:
            return "–"
        return f"[{run.ci_low:.4g}, {run.ci_high:.4g}]"

    @admin.display(description="report")
    def report_link(self, run: ExperimentRun) -> str:
        market_id = services.run_market_id(run_id=run.pk)
        if market_id is None:
            return "–"
        url = reverse("resolution:market-report", args=[market_id])
        return format_html('<a href="{}">{}</a>', url, url)

    @admin.action(description="Re-queue selected runs (failed or stalled)")
    def requeue_runs(self, request, queryset) -> None:
        for run in queryset:
            try:
                services.run_requeue(run_id=run.pk)
                self.message_user(request, f"Run {run.pk} re-queued.", messages.SUCCESS)
            except services.RunError as exc:
                self.message_user(request, f"Run {run.pk}: {exc}", messages.ERROR)

    @admin.action(description="Re-run to verify (same spec, fresh seeds)")
    def verify_runs(self, request, queryset) -> None:
        for run in queryset:
            try:
                new = services.run_verify(run_id=run.pk, requested_by=request.user)
                self.message_user(request, f"Verification run {new.pk} of run {run.pk} queued.",
                                  messages.SUCCESS)
            except services.RunError as exc:
                self.message_user(request, f"Run {run.pk}: {exc}", messages.ERROR)
