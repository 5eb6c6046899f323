"""REST API of experiment runs: ``GET /api/v1/runs/``, ``GET /api/v1/runs/{id}/`` and staff actions
``POST /api/v1/runs/{id}/requeue/``, ``/verify/``, ``/annul/`` and ``/reresolve/``; and a factor market's
survey campaign, ``GET /api/v1/markets/{id}/campaign/``."""
from __future__ import annotations

from django.db.models import F
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from experiments import selectors
from experiments.models import ExperimentRun
from market.exceptions import MarketError
from market.models import Market
from resolution import services
from resolution.campaigns import campaign_market_status


class RunSerializer(serializers.ModelSerializer):
    """The run fields of the HTTP contract (docs/architecture.md, "HTTP contract"), exactly."""

    market = serializers.SerializerMethodField()
    per_seed = serializers.SerializerMethodField()
    decision = serializers.SerializerMethodField()

    class Meta:
        model = ExperimentRun
        fields = [
            "id", "market", "status", "progress", "message", "spec", "spec_sha256", "statistic",
            "ci_low", "ci_high", "details", "per_seed", "provenance", "decision",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_market(self, run: ExperimentRun) -> int | None:
        """The market the run was started for (null for a dry run)."""
        if hasattr(run, "market_pk"):  # annotated by the list query
            return run.market_pk
        return services.run_market_id(run_id=run.pk)

    @extend_schema_field({"type": "array", "items": {"type": "object"}})
    def get_per_seed(self, run: ExperimentRun) -> list[dict]:
        return selectors.run_per_seed(run=run)

    @extend_schema_field(OpenApiTypes.OBJECT)
    def get_decision(self, run: ExperimentRun) -> dict:
        return selectors.run_decision(run=run)


class ReasonSerializer(serializers.Serializer):
    """The body of a staff action on a market: why (kept in the resolution note)."""

    reason = serializers.CharField(max_length=500, trim_whitespace=True)


class RunViewSet(viewsets.ReadOnlyModelViewSet):
    """Experiment runs (public, read-only); staff can re-queue, verify, annul and re-resolve."""

    serializer_class = RunSerializer
    permission_classes = [permissions.AllowAny]

    def get_queryset(self):
        params = self.request.query_params
        market = params.get("market")
        if market is not None and not market.isdigit():
            raise exceptions.ValidationError({"market": ["market must be a market id (an integer)."]})
        status_ = params.get("status")
        if status_ and status_ not in ExperimentRun.Status.values:
            raise exceptions.ValidationError(
                {"status": [f"status must be one of {', '.join(ExperimentRun.Status.values)}."]}
            )
        runs = ExperimentRun.objects.annotate(market_pk=F("market_link__market_id"))
        if market:
            runs = runs.filter(market_link__market_id=int(market))
        runs = selectors.runs_list(runs=runs, status=status_, purpose=params.get("purpose") or None)
        return selectors.runs_visible(user=self.request.user, runs=runs)

    @extend_schema(
        parameters=[
            OpenApiParameter("market", int, description="only runs of this market"),
            OpenApiParameter("status", str, enum=ExperimentRun.Status.values),
            OpenApiParameter("purpose", str, enum=ExperimentRun.Purpose.values),
        ]
    )
    def list(self, request: Request, *args, **kwargs) -> Response:
        return super().list(request, *args, **kwargs)

    def _staff_action(self, func, **kwargs) -> ExperimentRun | dict:
        try:
            return func(run_id=self.get_object().pk, **kwargs)
        except services.RunError as exc:
            raise exceptions.ValidationError({"detail": [str(exc)]}) from exc

    @extend_schema(request=None, responses={202: RunSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAdminUser])
    def requeue(self, request: Request, pk: str | None = None) -> Response:
        """Staff: put a failed (or stalled) run back in the queue; trained seeds are kept."""
        run = self._staff_action(services.run_requeue)
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: RunSerializer})
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAdminUser])
    def verify(self, request: Request, pk: str | None = None) -> Response:
        """Staff: re-run the same spec with fresh seeds as a separate verification run."""
        run = self._staff_action(services.run_verify, requested_by=request.user)
        return Response(RunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    def _staff_market_action(self, request: Request, func) -> Response:
        body = ReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            report = self._staff_action(func, reason=body.validated_data["reason"], actor=request.user)
        except MarketError as exc:  # market state errors carry a message for the person
            raise exceptions.ValidationError({"detail": [exc.message]}) from exc
        return Response(report)

    @extend_schema(
        request=ReasonSerializer,
        responses={200: inline_serializer("AnnulResponse", {"action": serializers.CharField()})},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAdminUser])
    def annul(self, request: Request, pk: str | None = None) -> Response:
        """Staff: annul the run's market with refunds (for a failed run)."""
        return self._staff_market_action(request, services.run_annul_market)

    @extend_schema(
        request=ReasonSerializer,
        responses={200: inline_serializer("ReresolveResponse", {
            "action": serializers.CharField(), "outcome": serializers.CharField(),
            "previous": serializers.CharField(), "reversed": serializers.CharField(),
            "covered": serializers.CharField(), "paid": serializers.CharField(),
            "already_resolved": serializers.BooleanField(),
        })},
    )
    @action(detail=True, methods=["post"], permission_classes=[permissions.IsAdminUser])
    def reresolve(self, request: Request, pk: str | None = None) -> Response:
        """Staff: set the market's outcome to this verification run's decision (it must disagree with
        the resolution): the old payouts are taken back and the new winners paid."""
        return self._staff_market_action(request, services.run_reresolve_market)


_OBJ = serializers.JSONField
CAMPAIGN = inline_serializer("MarketCampaignStatus", {
    "market_id": serializers.IntegerField(),
    "market_status": serializers.CharField(),
    "market_outcome": serializers.CharField(help_text="yes, no, annulled or '' while unsettled"),
    "commitment": serializers.CharField(help_text="SHA-256 committing to the hidden design seed and salt"),
    "revealed": serializers.BooleanField(help_text="true once the market closed and the seed was revealed"),
    "design_seed": serializers.IntegerField(allow_null=True, help_text="null until revealed"),
    "salt": serializers.CharField(allow_null=True, help_text="null until revealed"),
    "commitment_ok": serializers.BooleanField(
        required=False, help_text="once revealed: seed_commitment(design_seed, salt) == commitment"),
    "revealed_at": serializers.DateTimeField(allow_null=True),
    "rows": serializers.IntegerField(help_text="rows of the first stage"),
    "row_budget": serializers.IntegerField(),
    "rows_planned": serializers.IntegerField(help_text="rows of the current stage (0 before the close)"),
    "rows_decided": serializers.IntegerField(help_text="rows of the last stage decided"),
    "decisions": _OBJ(help_text=(
        "each stage: {rows, n_rows_used, statistic, ci_low, ci_high, outcome, reason, at}")),
    "error": serializers.CharField(help_text="why the campaign could not start ('' if it did)"),
    "campaign": _OBJ(allow_null=True, help_text="{id, name, design_sha256, preset}; null before the close"),
    "progress": _OBJ(allow_null=True, help_text=(
        "{rows_planned, rows_done, cells_total, cells_done, cells_failed, cells_running, cells_pending, "
        "compute_seconds, eta_seconds, complete}")),
    "estimate": _OBJ(allow_null=True, help_text=(
        "the latest factor estimate: {rows, n_rows_used, factor, statistic, ci_low, ci_high, robust, "
        "computed_at}")),
})


class MarketCampaignView(APIView):
    """A factor market's survey campaign: the design-seed commitment (the seed and salt only after the
    close), the stage's progress, the decisions and the latest factor estimate (docs/factor-markets.md)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(responses={200: CAMPAIGN}, operation_id="markets_campaign_retrieve")
    def get(self, request: Request, pk: int) -> Response:
        market = get_object_or_404(Market, pk=pk)
        status_ = campaign_market_status(market=market) if market.is_campaign else None
        if status_ is None:
            raise exceptions.NotFound("This market is not resolved by a survey campaign; its run is at "
                                      f"/api/v1/runs/?market={market.pk}.")
        return Response({"market_id": market.pk, "market_status": market.status,
                         "market_outcome": market.outcome or "", **status_})
