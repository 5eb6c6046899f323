"""REST API of the market app (docs/markets.md, "REST API"). Views validate input, call one service or selector, and
serialize the result; errors use the project-wide JSON shape of core.api.errors."""
from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import exceptions, status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.generics import GenericAPIView, ListAPIView, RetrieveAPIView
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated, IsAuthenticatedOrReadOnly
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from core.api.errors import ERROR
from core.api.parsers import NaNTolerantJSONParser
from core.api.throttling import LoginRateThrottle
from market import selectors
from market.api import serializers as s
from market.distributions import DistributionError
from market.exceptions import InsufficientBalance, MarketNotOpen, ProbabilityInvalid
from market.models import Concept, Market, MarketKind, MarketStatus
from market.services import account_for, forecast_place


class MarketNotOpenError(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "This market no longer accepts forecasts."
    default_code = "market_not_open"


class HealthView(APIView):
    """No-op liveness probe: no database, no authentication, no throttling."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(responses=s.HealthSerializer, summary="Liveness probe (no-op)")
    def get(self, request: Request) -> Response:
        return Response({"status": "ok"})


class TokenView(APIView):
    """Exchange a username and password for an API token (``Authorization: Token …``)."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get_throttles(self):  # type: ignore[no-untyped-def]
        return [*super().get_throttles(), LoginRateThrottle()]  # shared with the login form

    @extend_schema(request=s.TokenRequestSerializer, responses={200: s.TokenSerializer, 400: ERROR, 429: ERROR},
                   summary="Obtain an API token (login attempts are rate-limited per address)")
    def post(self, request: Request) -> Response:
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        token, _ = Token.objects.get_or_create(user=user)
        account_for(user=user)
        return Response({"token": token.key})


def _choice(request: Request, name: str, allowed: list[str]) -> str | None:
    value = request.query_params.get(name) or None
    if value is not None and value not in allowed:
        raise exceptions.ValidationError({name: [f"must be one of {', '.join(allowed)}; got {value!r}."]})
    return value


class MarketListView(ListAPIView):
    serializer_class = s.MarketSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.market_list(
            concept=_choice(self.request, "concept", list(Concept.values)),
            status=_choice(self.request, "status", list(MarketStatus.values)),
        )

    @extend_schema(
        parameters=[
            OpenApiParameter("concept", str, enum=list(Concept.values), description="Only this concept (A–H)."),
            OpenApiParameter("status", str, enum=list(MarketStatus.values), description="Only this status."),
        ],
        responses={200: s.MarketSerializer(many=True), 400: ERROR},
        summary="List markets",
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class MarketDetailView(RetrieveAPIView):
    serializer_class = s.MarketDetailSerializer

    def get_queryset(self):  # type: ignore[no-untyped-def]
        return selectors.market_list()

    def get_object(self) -> Market:
        market = super().get_object()
        market.price_history = selectors.market_price_history(market=market)
        market.community_probability = selectors.community_probability(market_id=market.pk)
        market.community_distribution = (selectors.community_distribution(market_id=market.pk)
                                          if market.kind == MarketKind.NUMERIC else None)
        return market

    @extend_schema(responses={200: s.MarketDetailSerializer, 404: ERROR},
                   summary="A market, with its price history and community probability")
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)


class ForecastsView(GenericAPIView):
    """GET: the market's public trade history. POST: move the price (a forecast) or quote it (dry run)."""

    serializer_class = s.ForecastSerializer
    permission_classes = [IsAuthenticatedOrReadOnly]
    parser_classes = [NaNTolerantJSONParser, FormParser, MultiPartParser]
    throttle_scope = "forecasts"

    def get_throttles(self):  # type: ignore[no-untyped-def]
        throttles = super().get_throttles()
        if self.request.method == "POST":
            throttles.append(ScopedRateThrottle())
        return throttles

    @extend_schema(responses={200: s.ForecastSerializer(many=True), 404: ERROR}, summary="Public trade history")
    def get(self, request: Request, pk: int) -> Response:
        market = get_object_or_404(Market, pk=pk)
        page = self.paginate_queryset(selectors.forecast_history(market=market))
        return self.get_paginated_response(s.ForecastSerializer(page, many=True).data)

    @extend_schema(
        request=PolymorphicProxySerializer(
            component_name="AnyForecastRequest", resource_type_field_name=None,
            serializers=[s.ForecastInputSerializer, s.NumericForecastInputSerializer]),
        responses={
            201: PolymorphicProxySerializer(
                component_name="AnyForecastResult", resource_type_field_name=None,
                serializers=[s.ForecastResultSerializer, s.NumericForecastResultSerializer]),
            200: OpenApiResponse(s.ForecastResultSerializer, description="dry run: the quote, nothing changed "
                                 "(a numeric market answers with NumericForecastResult)"),
            400: OpenApiResponse(ERROR, description="bad probability, or the balance cannot pay"),
            401: ERROR,
            404: ERROR,
            409: OpenApiResponse(ERROR, description="the market is not open"),
        },
        summary="Place a forecast: move the price to a probability (binary market), or every bin's price to "
                "a target distribution {cdf} | {components} | {quantiles} (numeric market)",
    )
    def post(self, request: Request, pk: int) -> Response:
        distribution = s.distribution_input(request.data)
        if distribution is not None or ("probability" not in request.data
                                        and Market.objects.filter(pk=pk, kind=MarketKind.NUMERIC).exists()):
            return self._post_numeric(request, pk, distribution or {})
        data = s.ForecastInputSerializer(data=request.data, context={"request": request})
        data.is_valid(raise_exception=True)
        try:
            result = forecast_place(user=request.user, market=pk, probability=data.validated_data["probability"],
                                    dry_run=data.validated_data["dry_run"])
        except Market.DoesNotExist:
            raise exceptions.NotFound("No market with this id.") from None
        except MarketNotOpen as exc:
            raise MarketNotOpenError(exc.message) from None
        except ProbabilityInvalid as exc:
            raise exceptions.ValidationError({"probability": [exc.message]}) from None
        except DistributionError as exc:  # a probability sent to a numeric market
            raise exceptions.ValidationError({exc.field: [exc.message]}) from None
        except InsufficientBalance as exc:
            return Response(
                {
                    "detail": exc.message,
                    "errors": {"probability": [exc.message]},
                    "code": "insufficient_balance",
                    "cost": float(exc.cost),
                    "balance": float(exc.balance),
                    "furthest_probability": exc.furthest_probability,
                },
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = s.forecast_result_data(result)
        return Response(body, status=status.HTTP_200_OK if result.dry_run else status.HTTP_201_CREATED)

    def _post_numeric(self, request: Request, pk: int, distribution: dict) -> Response:
        """A numeric market: move every bin's price to the target distribution (or quote it)."""
        dry_run = s.dry_run_input(request.data)
        try:
            result = forecast_place(user=request.user, market=pk, distribution=distribution, dry_run=dry_run)
        except Market.DoesNotExist:
            raise exceptions.NotFound("No market with this id.") from None
        except MarketNotOpen as exc:
            raise MarketNotOpenError(exc.message) from None
        except (DistributionError, ProbabilityInvalid) as exc:
            raise exceptions.ValidationError({exc.field or "non_field_errors": [exc.message]}) from None
        except InsufficientBalance as exc:
            return Response(
                {"detail": exc.message, "errors": {exc.field: [exc.message]}, "code": "insufficient_balance",
                 "cost": float(exc.cost), "balance": float(exc.balance), "furthest_t": exc.furthest_t},
                status=status.HTTP_400_BAD_REQUEST,
            )
        body = s.numeric_result_data(result)
        return Response(body, status=status.HTTP_200_OK if result.dry_run else status.HTTP_201_CREATED)


class MeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: s.MeSerializer, 401: ERROR}, summary="Your balance and positions")
    def get(self, request: Request) -> Response:
        account = account_for(user=request.user)
        body = {
            "username": request.user.get_username(),
            "balance": account.balance,
            "positions": selectors.user_positions(user=request.user),
        }
        return Response(s.MeSerializer(body).data)
