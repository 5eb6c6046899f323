"""Proposals API (docs/proposals.md): ``/api/v1/proposals/`` and its ``approve``, ``reject`` and ``dry_run`` actions,
plus the registry ``catalog`` and a cost ``estimate`` for building a spec."""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import exceptions, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.api.errors import ERROR
from core.api.parsers import NaNTolerantJSONParser
from core.api.throttling import UserScopedThrottle
from market.api.evidence import WARNING as EVIDENCE_WARNING
from market.models import Comparator, Concept
from market.sanitize import markdown_to_html
from market.specs import CriterionError
from proposals import selectors as proposal_selectors
from proposals.input import TITLE_MIN_LENGTH, cost_estimate, registry_catalog, spec_clean
from proposals.models import TEXT_MAX_LENGTH, TITLE_MAX_LENGTH, Proposal, ProposalStatus
from proposals.services import (
    ProposalForbidden,
    ProposalInvalid,
    ProposalStateError,
    proposal_approve,
    proposal_create,
    proposal_dry_run,
    proposal_reject,
)


class ProposalsThrottle(UserScopedThrottle):
    scope = "proposals"


class DryRunsThrottle(UserScopedThrottle):
    scope = "dry_runs"


class SpecSerializer(serializers.Serializer):
    concept = serializers.ChoiceField(choices=Concept.choices)
    task = serializers.CharField(help_text="a task of the concept (see /api/v1/proposals/catalog/)")
    arch = serializers.CharField(required=False, help_text="an architecture of the task")
    seeds = serializers.IntegerField(required=False, help_text="seeds trained first (bounded by the registry)")
    seed_budget = serializers.IntegerField(required=False, help_text="most seeds if the CI straddles the threshold")
    preset = serializers.ChoiceField(choices=["tiny", "default"], required=False)
    params = serializers.DictField(required=False, help_text="parameter name → number or enum value, within bounds")


class ProposalInputSerializer(serializers.Serializer):
    """The request body as the OpenAPI document shows it. It validates nothing: the body goes as it is to
    ``proposal_create``, whose ``proposal_clean`` is the one validation layer of the form and the API
    (one message per bad field). Its bounds are the same constants."""

    concept = serializers.ChoiceField(choices=Concept.choices)
    title = serializers.CharField(min_length=TITLE_MIN_LENGTH, max_length=TITLE_MAX_LENGTH)
    text = serializers.CharField(max_length=TEXT_MAX_LENGTH, help_text="Markdown; sanitised when shown")
    spec = SpecSerializer()
    statistic = serializers.CharField(help_text="must be the concept's statistic (see the catalog)")
    comparator = serializers.ChoiceField(choices=Comparator.choices)
    threshold = serializers.FloatField()
    close_time = serializers.DateTimeField()
    liquidity = serializers.FloatField(required=False, help_text="LMSR b of the market (default 100)")


class ProposalSerializer(serializers.ModelSerializer):
    proposer = serializers.CharField(source="proposer.username", read_only=True)
    text_html = serializers.SerializerMethodField()
    market_id = serializers.IntegerField(read_only=True, allow_null=True)
    dry_run_id = serializers.IntegerField(read_only=True, allow_null=True)
    dry_run_status = serializers.SerializerMethodField()
    evidence_warning = serializers.SerializerMethodField(
        help_text="issue 14: {code, message} when nearby survey rows say the outcome is foregone, else null")

    class Meta:
        model = Proposal
        fields = [
            "id", "status", "proposer", "concept", "title", "text", "text_html", "spec", "spec_sha256",
            "statistic", "comparator", "threshold", "close_time", "liquidity", "estimated_cost",
            "rejection_reason", "reviewed_at", "market_id", "dry_run_id", "dry_run_status", "created_at", "evidence_warning",
        ]
        read_only_fields = fields

    def get_text_html(self, proposal: Proposal) -> str:
        return str(markdown_to_html(proposal.text))

    def get_dry_run_status(self, proposal: Proposal) -> str | None:
        return proposal.dry_run.status if proposal.dry_run_id else None

    @extend_schema_field(EVIDENCE_WARNING)
    def get_evidence_warning(self, proposal: Proposal) -> dict | None:
        from experiments.evidence.selectors import criterion_evidence

        return criterion_evidence(proposal)["warning"]


class RejectSerializer(serializers.Serializer):
    reason = serializers.CharField(help_text="shown to the proposer")


class EstimateSerializer(serializers.Serializer):
    spec = SpecSerializer()


APPROVED = inline_serializer("ProposalApproved", {"market_id": serializers.IntegerField(), "proposal": ProposalSerializer()})
DRY_RUN = inline_serializer("DryRunQueued", {"run_id": serializers.IntegerField(), "status": serializers.CharField(),
                                             "progress_url": serializers.CharField()})
ESTIMATE = inline_serializer("SpecEstimate", {"spec": serializers.DictField(), "cost": serializers.DictField(),
                                              "statistic": serializers.CharField()})


class ProposalViewSet(viewsets.GenericViewSet):
    """Your proposals (staff see everyone's). Staff approve or reject; proposer or staff dry-run."""

    serializer_class = ProposalSerializer
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [NaNTolerantJSONParser]
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):  # type: ignore[no-untyped-def]
        value = self.request.query_params.get("status") or None
        if value is not None and value not in ProposalStatus.values:
            raise exceptions.ValidationError({"status": [f"must be one of {', '.join(ProposalStatus.values)}."]})
        return proposal_selectors.proposal_list(user=self.request.user, status=value)

    def get_permissions(self):  # type: ignore[no-untyped-def]
        if self.action in ("approve", "reject"):
            return [permissions.IsAdminUser()]
        if self.action == "catalog":
            return [permissions.AllowAny()]
        return super().get_permissions()

    def get_throttles(self):  # type: ignore[no-untyped-def]
        throttles = super().get_throttles()
        if self.action == "create":
            throttles.append(ProposalsThrottle())
        elif self.action == "dry_run":
            throttles.append(DryRunsThrottle())
        return throttles

    def _call(self, func, **kwargs):  # type: ignore[no-untyped-def]
        try:
            return func(**kwargs)
        except Proposal.DoesNotExist:
            raise exceptions.NotFound("No proposal with this id.") from None
        except ProposalInvalid as exc:
            raise exceptions.ValidationError(exc.errors) from None
        except ProposalForbidden as exc:
            raise exceptions.PermissionDenied(exc.message) from None
        except ProposalStateError as exc:
            raise Conflict(exc.message) from None

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=ProposalStatus.values)],
                   responses={200: ProposalSerializer(many=True), 401: ERROR}, summary="Your proposals")
    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(ProposalSerializer(page, many=True).data)

    @extend_schema(responses={200: ProposalSerializer, 401: ERROR, 404: ERROR}, summary="One of your proposals")
    def retrieve(self, request: Request, pk: str) -> Response:
        return Response(ProposalSerializer(self.get_object()).data)

    @extend_schema(request=ProposalInputSerializer,
                   responses={201: ProposalSerializer, 400: OpenApiResponse(ERROR, description="one message per bad field"),
                              401: ERROR, 429: ERROR},
                   summary="Propose a market")
    def create(self, request: Request) -> Response:
        proposal = self._call(proposal_create, proposer=request.user, data=request.data)
        return Response(ProposalSerializer(proposal).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: APPROVED, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR},
                   summary="Staff: approve (opens the market)")
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: str) -> Response:
        market = self._call(proposal_approve, proposal=self.get_object(), reviewer=request.user)
        proposal = self.get_queryset().get(pk=pk)
        return Response({"market_id": market.pk, "proposal": ProposalSerializer(proposal).data})

    @extend_schema(request=RejectSerializer, responses={200: ProposalSerializer, 400: ERROR, 403: ERROR, 404: ERROR,
                                                        409: ERROR},
                   summary="Staff: reject with a reason")
    @action(detail=True, methods=["post"])
    def reject(self, request: Request, pk: str) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        proposal = self._call(proposal_reject, proposal=self.get_object(), reviewer=request.user,
                              reason=data.get("reason"))
        return Response(ProposalSerializer(proposal).data)

    @extend_schema(request=None, responses={202: DRY_RUN, 400: ERROR, 403: ERROR, 404: ERROR, 409: ERROR, 429: ERROR},
                   summary="Queue a tiny-preset run of the spec (rate-limited)")
    @action(detail=True, methods=["post"])
    def dry_run(self, request: Request, pk: str) -> Response:
        run = self._call(proposal_dry_run, proposal=self.get_object(), user=request.user)
        return Response({"run_id": run.pk, "status": run.status, "progress_url": f"/api/v1/runs/{run.pk}/"},
                        status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=EstimateSerializer, responses={200: ESTIMATE, 400: ERROR, 401: ERROR},
                   summary="Validate a spec and estimate its compute cost")
    @action(detail=False, methods=["post"])
    def estimate(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else None
        if data is None or "spec" not in data:
            raise exceptions.ValidationError({"spec": ["spec is required."]})
        try:
            spec = spec_clean(data["spec"])
        except CriterionError as exc:
            raise exceptions.ValidationError({exc.field: [exc.message]}) from None
        from market.specs import statistic_name

        return Response({"spec": spec, "cost": cost_estimate(spec), "statistic": statistic_name(spec["concept"])})

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, summary="The experiments registry: concepts, tasks, bounds")
    @action(detail=False, methods=["get"])
    def catalog(self, request: Request) -> Response:
        return Response(registry_catalog())


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This action does not apply to the proposal in its current state."
    default_code = "conflict"
