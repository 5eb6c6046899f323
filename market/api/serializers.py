"""Serializers of the market API. Points and shares are rendered as JSON numbers."""
from __future__ import annotations

import math

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from market import selectors
from market.models import Forecast, Market


@extend_schema_field(OpenApiTypes.DOUBLE)
class ProbabilityField(serializers.Field):
    """A JSON number in [MIN_PROBABILITY, MAX_PROBABILITY]; strings only from form-encoded bodies."""

    default_error_messages = {
        "required": "this field is required; send a number between {low} and {high}.",
        "null": "probability must be a number between {low} and {high}, not null.",
    }

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        low, high = settings.PATHMARKET["MIN_PROBABILITY"], settings.PATHMARKET["MAX_PROBABILITY"]
        self.low, self.high = low, high
        self.error_messages = {k: v.format(low=low, high=high) for k, v in self.error_messages.items()}

    def to_internal_value(self, data: object) -> float:
        low, high = self.low, self.high
        request = self.context.get("request")
        form = request is not None and not request.content_type.startswith("application/json")
        if isinstance(data, str) and form:
            try:
                data = float(data)
            except ValueError:
                raise serializers.ValidationError(f"must be a number between {low} and {high}; got {data!r}.") from None
        if isinstance(data, bool) or isinstance(data, str | list | dict) or not isinstance(data, int | float):
            kind = {str: "a string", list: "a list", dict: "an object", bool: "a boolean"}.get(type(data), "that")
            raise serializers.ValidationError(f"must be a JSON number between {low} and {high}, not {kind}.")
        value = float(data)
        if not math.isfinite(value):
            raise serializers.ValidationError(f"must be a finite number between {low} and {high}, not {data}.")
        if not (low <= value <= high):
            raise serializers.ValidationError(f"must be between {low} and {high}; got {value:g}.")
        return value

    def to_representation(self, value: float) -> float:
        return float(value)


class ForecastInputSerializer(serializers.Serializer):
    probability = ProbabilityField(help_text="Move the market price to this probability of YES (0.01–0.99).")
    dry_run = serializers.BooleanField(
        default=False, help_text="Quote only: report what the forecast would do, change nothing (200)."
    )


class ForecastResultSerializer(serializers.Serializer):
    probability_before = serializers.FloatField()
    probability_after = serializers.FloatField()
    cost = serializers.FloatField(help_text="Points paid (negative: received).")
    shares_yes = serializers.FloatField(help_text="Your YES shares after the forecast (the payout if YES).")
    shares_no = serializers.FloatField(help_text="Your NO shares after the forecast (the payout if NO).")
    balance = serializers.FloatField(help_text="Your balance after the forecast.")
    delta_yes = serializers.FloatField()
    delta_no = serializers.FloatField()
    payout_if_yes = serializers.FloatField()
    payout_if_no = serializers.FloatField()
    dry_run = serializers.BooleanField()
    forecast_id = serializers.IntegerField(allow_null=True)
    market_id = serializers.IntegerField()


_RESULT_FLOATS = ("probability_before", "probability_after", "cost", "shares_yes", "shares_no", "balance",
                  "delta_yes", "delta_no", "payout_if_yes", "payout_if_no")


def forecast_result_data(result: object) -> dict:
    """What ``ForecastResultSerializer(result).data`` gives, built directly: the forecast endpoint is the
    API's hot path, and the serializer's per-call field copying costs as much as the trade's own logic.
    tests/market/test_api.py checks the two agree."""
    body = {name: float(getattr(result, name)) for name in _RESULT_FLOATS}
    body["dry_run"] = bool(result.dry_run)
    body["forecast_id"] = None if result.forecast_id is None else int(result.forecast_id)
    body["market_id"] = int(result.market_id)
    return body


class MarketSerializer(serializers.ModelSerializer):
    probability = serializers.FloatField(read_only=True)
    liquidity = serializers.FloatField(read_only=True)
    volume = serializers.FloatField(read_only=True, help_text="Points traded (sum of |cost|).")
    forecasters = serializers.IntegerField(read_only=True)
    run_id = serializers.SerializerMethodField()
    url = serializers.SerializerMethodField()

    class Meta:
        model = Market
        fields = [
            "id", "title", "concept", "status", "probability", "liquidity", "close_time", "spec", "spec_sha256",
            "statistic", "comparator", "threshold", "outcome", "run_id", "question", "confidence", "volume",
            "forecasters", "opened_at", "closed_at", "resolved_at", "url",
        ]
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.INT)
    def get_run_id(self, market: Market) -> int | None:
        """The market's latest resolution run, once one exists (``run_id`` when a view annotated it)."""
        if hasattr(market, "run_id"):
            return market.run_id
        return selectors.market_run_id(market_id=market.pk)  # one small indexed query per market

    def get_url(self, market: Market) -> str:
        return f"/markets/{market.pk}/"


class PricePointSerializer(serializers.Serializer):
    time = serializers.DateTimeField()
    probability = serializers.FloatField()


class MarketDetailSerializer(MarketSerializer):
    price_history = PricePointSerializer(many=True, read_only=True)
    community_probability = serializers.FloatField(read_only=True, allow_null=True)
    resolution_note = serializers.CharField(read_only=True)

    class Meta(MarketSerializer.Meta):
        fields = [*MarketSerializer.Meta.fields, "price_history", "community_probability", "resolution_note"]
        read_only_fields = fields


class ForecastSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    cost = serializers.FloatField()
    delta_yes = serializers.FloatField()
    delta_no = serializers.FloatField()

    class Meta:
        model = Forecast
        fields = ["id", "user", "probability_before", "probability_after", "cost", "delta_yes", "delta_no",
                  "created_at"]
        read_only_fields = fields


class PositionSerializer(serializers.Serializer):
    market_id = serializers.IntegerField(source="market.pk")
    title = serializers.CharField(source="market.title")
    concept = serializers.CharField(source="market.concept")
    status = serializers.CharField(source="market.status")
    outcome = serializers.CharField(source="market.outcome", allow_null=True)
    probability = serializers.FloatField(source="market.probability")
    shares_yes = serializers.FloatField()
    shares_no = serializers.FloatField()
    net_cost = serializers.FloatField()


class MeSerializer(serializers.Serializer):
    username = serializers.CharField()
    balance = serializers.FloatField()
    positions = PositionSerializer(many=True)


class TokenRequestSerializer(serializers.Serializer):
    username = serializers.CharField()
    password = serializers.CharField(style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField()
