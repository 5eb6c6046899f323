"""REST API of the evaluator (docs/evaluator.md, "API"): leaderboard, general factor, calibration. Views validate
the query, call one selector and return its JSON-ready result."""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import exceptions, serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.pagination import StandardPagination
from evaluator import selectors
from evaluator.factor import CONCEPTS
from evaluator.factor_robust import VERDICT_CODES
from evaluator.models import ForecasterKind
from experiments.concepts import FACTOR, market_concept

CONCEPT_PARAM = OpenApiParameter("concept", str, enum=[*CONCEPTS, FACTOR],
                                 description="Restrict to one concept A–H, or g: the general factor's markets.")


def _concept(request: Request) -> str | None:
    value = (request.query_params.get("concept") or "").strip()
    concept = market_concept(value)
    if value and concept is None:
        raise exceptions.ValidationError(
            {"concept": [f"'{value[:40]}' is not a concept; use one of A–H, or g for the general factor."]})
    return concept


class LeaderboardRowSerializer(serializers.Serializer):
    user = serializers.CharField()
    peer_score = serializers.FloatField(help_text="Mean time-averaged peer score over resolved markets.")
    ci_low = serializers.FloatField(allow_null=True, help_text="95% bootstrap interval over markets (null with one market).")
    ci_high = serializers.FloatField(allow_null=True)
    n_markets = serializers.IntegerField()
    coverage_sum = serializers.FloatField()
    rank_score = serializers.FloatField(help_text="Σ peer / max(30, Σ coverage); the table's order.")
    baseline_score = serializers.FloatField(allow_null=True)
    kind = serializers.CharField(help_text="'user', or 'market_price' / 'community' for reference rows.")


class LeaderboardView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Leaderboard: mean peer score per user with bootstrap CIs",
        parameters=[CONCEPT_PARAM],
        responses=inline_serializer("Leaderboard", {
            "count": serializers.IntegerField(), "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True), "results": LeaderboardRowSerializer(many=True),
            "reference": LeaderboardRowSerializer(many=True), "n_markets": serializers.IntegerField(),
        }),
    )
    def get(self, request: Request) -> Response:
        board = selectors.leaderboard(concept=_concept(request))
        paginator = StandardPagination()
        page = paginator.paginate_queryset(board["rows"], request, view=self)
        response = paginator.get_paginated_response(page)
        response.data["reference"] = board["reference"]
        response.data["n_markets"] = board["n_markets"]
        response.data["concept"] = board["concept"]
        return response


class FactorView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="The estimated general factor of path dependence",
        responses=inline_serializer("Factor", {
            "n_setups": serializers.IntegerField(),
            "matrix": serializers.ListField(child=serializers.DictField(), help_text="{setup, task, arch, A … H}"),
            "pc1_share": serializers.FloatField(allow_null=True),
            "pc1_ci": serializers.ListField(child=serializers.FloatField(), allow_null=True),
            "null_p95": serializers.FloatField(allow_null=True, help_text="95th percentile of PC1's share with no factor."),
            "loadings": serializers.DictField(child=serializers.FloatField()),
            "loadings_ci": serializers.DictField(child=serializers.ListField(child=serializers.FloatField())),
            "fa_loadings": serializers.DictField(child=serializers.FloatField()),
            "rows_needed": serializers.IntegerField(),
            "n_missing": serializers.IntegerField(),
            "verdict": serializers.CharField(help_text="The combined verdict (pooled estimate and its checks)."),
            "verdict_code": serializers.ChoiceField(choices=list(VERDICT_CODES)),
            "pooled_verdict": serializers.CharField(help_text="The all-rows analysis's own verdict."),
            "pooled_verdict_code": serializers.CharField(
                help_text="insufficient_data, no_evidence, contrast, suggestive or general_factor"),
            "estimates": serializers.DictField(
                child=serializers.DictField(),
                help_text="pooled_rank, pooled_z, within_task (statistics centred per task), partialled (training "
                          "progress regressed out): {label, available, reason, n_rows, pc1_share, pc1_ci, null_p95, "
                          "above_null, ci_above_null, loadings, loadings_ci, fa_loadings, eigenvalues, …}"),
            "leave_one_task_out": serializers.ListField(
                child=serializers.DictField(), help_text="{left_out, n_left_out, n_rows, pc1_share, null_p95, above_null}"),
            "correlation": serializers.DictField(help_text="{columns, matrix (null: < 3 common rows), n_pairs}"),
            "partial_info": serializers.DictField(help_text="{covariates, dropped, n_imputed, r2}"),
            "tasks": serializers.DictField(child=serializers.IntegerField(), help_text="rows per task"),
            "n_cells": serializers.IntegerField(),
            "n_missing_cells": serializers.IntegerField(help_text="over the whole matrix (n_missing: analysed rows)"),
            "statistics": serializers.DictField(child=serializers.CharField(), help_text="letter → statistic name"),
            "provenance": serializers.DictField(help_text="dataset-level provenance: source, design hash, …"),
            "data_version": serializers.CharField(help_text="SHA-256 of the matrix and its provenance"),
        }),
    )
    def get(self, request: Request) -> Response:
        return Response(selectors.factor_summary())


Calibration = inline_serializer("Calibration", {
    "n": serializers.IntegerField(),
    "bins": serializers.ListField(child=serializers.DictField(), help_text="reliability bins with 90% bands"),
    "ece": serializers.FloatField(allow_null=True),
    "murphy": serializers.DictField(allow_null=True, help_text="brier, reliability, resolution, uncertainty, within_bin, n"),
    "by_concept": serializers.DictField(child=serializers.DictField()),
})


class UserCalibrationView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(summary="Calibration of a user's last forecasts on resolved markets", parameters=[CONCEPT_PARAM],
                   responses=Calibration)
    def get(self, request: Request, username: str) -> Response:
        user = get_object_or_404(get_user_model(), username=username)
        data = selectors.calibration(user=user, concept=_concept(request))
        # Numeric markets: the PIT histogram of the last distributions, with its uniformity tests.
        data["numeric_pit"] = selectors.pit_calibration(user=user)
        return Response({"username": user.get_username(), **data})


class ReferenceCalibrationView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        summary="Calibration of the market price or the community aggregate",
        parameters=[CONCEPT_PARAM, OpenApiParameter("forecaster", str, enum=["market_price", "community"])],
        responses=Calibration,
    )
    def get(self, request: Request) -> Response:
        forecaster = request.query_params.get("forecaster", ForecasterKind.MARKET_PRICE)
        if forecaster not in (ForecasterKind.MARKET_PRICE, ForecasterKind.COMMUNITY):
            raise exceptions.ValidationError({"forecaster": ["Use 'market_price' or 'community'."]})
        data = selectors.calibration(forecaster=forecaster, concept=_concept(request))
        return Response({"forecaster": forecaster, **data})
