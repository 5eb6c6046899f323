"""``GET /api/v1/markets/{id}/evidence/``: the market page's "Evidence so far" panel as JSON (docs/evidence.md)."""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from experiments.evidence.selectors import criterion_evidence
from market.models import Market

_F = serializers.FloatField
SUMMARY = inline_serializer(
    "EvidenceSummary",
    {
        "n": serializers.IntegerField(),
        "n_yes": serializers.IntegerField(help_text="values on the YES side"),
        "share_yes": _F(),
        "minimum": _F(),
        "q25": _F(),
        "median": _F(),
        "q75": _F(),
        "maximum": _F(),
        "threshold_quantile": _F(help_text="share of the values below the threshold"),
        "threshold_position": serializers.ChoiceField(choices=["below", "inside", "above"]),
        "ci_yes": serializers.IntegerField(help_text="settings whose whole CI is on the YES side"),
        "ci_no": serializers.IntegerField(),
        "ci_straddles": serializers.IntegerField(),
    },
    allow_null=True,
)
WARNING = inline_serializer(
    "EvidenceWarning",
    {
        "code": serializers.CharField(help_text="outside_range or one_sided"),
        "message": serializers.CharField(),
    },
    allow_null=True,
)
ROW = inline_serializer(
    "EvidenceRow",
    {
        "source": serializers.ChoiceField(choices=["survey", "run"]),
        "campaign": serializers.CharField(),
        "row": serializers.IntegerField(allow_null=True),
        "run_id": serializers.IntegerField(allow_null=True),
        "setup": serializers.CharField(help_text="the setting's key, as in /exports/factor.csv"),
        "label": serializers.CharField(help_text="the surveyed parameters in short"),
        "task": serializers.CharField(),
        "arch": serializers.CharField(),
        "params": serializers.DictField(),
        "distance": _F(
            help_text="root-mean-square distance in units of the survey's range of each parameter"
        ),
        "value": _F(),
        "ci_low": _F(allow_null=True),
        "ci_high": _F(allow_null=True),
        "side": serializers.ChoiceField(choices=["yes", "no"]),
        "ci_side": serializers.ChoiceField(choices=["yes", "no", "straddles", ""]),
        "url": serializers.CharField(help_text="the run's API resource ('' for a survey row)"),
    },
    many=True,
)
EVIDENCE = inline_serializer(
    "MarketEvidence",
    {
        "market_id": serializers.IntegerField(),
        "concept": serializers.CharField(),
        "task": serializers.CharField(),
        "arch": serializers.CharField(),
        "statistic": serializers.CharField(),
        "comparator": serializers.CharField(),
        "threshold": _F(),
        "k": serializers.IntegerField(help_text="how many settings count as nearest"),
        "nearness": serializers.DictField(help_text="{text, axes}: how 'near' is defined"),
        "arch_matched": serializers.BooleanField(),
        "surveyed_task": serializers.BooleanField(),
        "outside_survey": serializers.ListField(
            child=serializers.DictField(), help_text="parameters of the market outside the survey's range"
        ),
        "variants": serializers.DictField(),
        "n_candidates": serializers.IntegerField(),
        "n_survey": serializers.IntegerField(),
        "n_runs": serializers.IntegerField(),
        "all_rows": SUMMARY,
        "summary": SUMMARY,
        "headline": serializers.CharField(),
        "message": serializers.CharField(help_text="why there is no evidence, or ''"),
        "warning": WARNING,
        "rows": ROW,
        "links": serializers.DictField(help_text="csv, factor, factor_csv"),
    },
)


def evidence_links(market_id: int) -> dict[str, str]:
    return {
        "csv": f"/markets/{market_id}/evidence.csv",
        "factor": "/factor/#matrix",
        "factor_csv": "/exports/factor.csv",
    }


class MarketEvidenceView(APIView):
    """The statistic across the survey rows and resolved runs nearest to the market's setting."""

    permission_classes = [AllowAny]

    @extend_schema(
        responses={
            200: EVIDENCE,
            404: inline_serializer("EvidenceNotFound", {"detail": serializers.CharField()}),
        },
        summary="Evidence so far: the market's statistic on the nearest surveyed settings and resolved runs",
    )
    def get(self, request: Request, pk: int) -> Response:
        market = get_object_or_404(Market, pk=pk)
        return Response(
            {"market_id": market.pk, **criterion_evidence(market), "links": evidence_links(market.pk)}
        )
