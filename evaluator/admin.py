from django.contrib import admin

from evaluator.models import CommunityPoint, FactorCell, Score


@admin.register(Score)
class ScoreAdmin(admin.ModelAdmin):
    list_display = ("market", "forecaster", "user", "kind", "value", "coverage", "probability", "outcome")
    list_filter = ("kind", "forecaster", "concept")
    search_fields = ("user__username", "market__title")
    # Scores are derived data: market_scores_recompute is the only writer.
    readonly_fields = [f.name for f in Score._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(CommunityPoint)
class CommunityPointAdmin(admin.ModelAdmin):
    list_display = ("market", "time", "probability", "n_forecasters")
    readonly_fields = ("market", "time", "probability", "n_forecasters")


@admin.register(FactorCell)
class FactorCellAdmin(admin.ModelAdmin):
    list_display = ("setup", "concept", "statistic", "source", "run_id", "updated_at")
    list_filter = ("concept", "source", "task", "arch")
    search_fields = ("setup",)
