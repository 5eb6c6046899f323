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


_DISTRIBUTION_FORMS = ("cdf", "components", "quantiles")


def distribution_input(data: object) -> dict | None:
    """The numeric-forecast part of a request body (``cdf``, ``components`` or ``quantiles``), or None."""
    if not hasattr(data, "keys"):
        return None
    found = {k: data[k] for k in _DISTRIBUTION_FORMS if k in data}
    return found or None


def dry_run_input(data: object) -> bool:
    """``dry_run`` as DRF's BooleanField reads it (400 naming the field otherwise)."""
    if not hasattr(data, "get") or "dry_run" not in data:
        return False
    field = serializers.BooleanField()
    try:
        return bool(field.to_internal_value(data.get("dry_run")))
    except serializers.ValidationError as exc:
        raise serializers.ValidationError({"dry_run": exc.detail}) from None


class ComponentSerializer(serializers.Serializer):
    center = serializers.FloatField(help_text="Centre of a logistic component, in the statistic's units.")
    spread = serializers.FloatField(help_text="Its scale s > 0 (the standard deviation is s·π/√3).")
    weight = serializers.FloatField(help_text="Its weight; the weights sum to 1.")


class NumericForecastInputSerializer(serializers.Serializer):
    """Documents the numeric forms; the service validates them (market.distributions)."""

    cdf = serializers.ListField(child=serializers.FloatField(), required=False,
                                help_text="n + 1 non-decreasing values from 0 to 1: the CDF at the bin edges.")
    components = ComponentSerializer(many=True, required=False, help_text="1 to 3 logistic components.")
    quantiles = serializers.DictField(child=serializers.FloatField(), required=False,
                                      help_text='{"0.1": x, "0.5": y, "0.9": z}, increasing, inside the range.')
    dry_run = serializers.BooleanField(default=False)


class NumericForecastResultSerializer(serializers.Serializer):
    cost = serializers.FloatField(help_text="Points paid (negative: received).")
    balance = serializers.FloatField()
    prices_before = serializers.ListField(child=serializers.FloatField())
    prices_after = serializers.ListField(child=serializers.FloatField())
    deltas = serializers.ListField(child=serializers.FloatField(), help_text="Shares bought (+) or sold (−) per bin.")
    shares = serializers.ListField(child=serializers.FloatField(),
                                   help_text="Your shares per outcome after the forecast: the payout if the "
                                             "statistic lands there.")
    dry_run = serializers.BooleanField()
    forecast_id = serializers.IntegerField(allow_null=True)
    market_id = serializers.IntegerField()


def numeric_result_data(result: object) -> dict:
    return {
        "cost": float(result.cost), "balance": float(result.balance),
        "prices_before": list(result.prices_before), "prices_after": list(result.prices_after),
        "deltas": [float(x) for x in result.deltas], "shares": [float(x) for x in result.shares],
        "dry_run": bool(result.dry_run),
        "forecast_id": None if result.forecast_id is None else int(result.forecast_id),
        "market_id": int(result.market_id),
    }


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
    probability = serializers.FloatField(read_only=True, allow_null=True, help_text="null for a numeric market")
    distribution = serializers.SerializerMethodField(help_text="Numeric markets: the price of every outcome "
                                                               "(bins, with overflow bins first/last).")
    edges = serializers.SerializerMethodField(help_text="Numeric markets: the n + 1 interior bin edges.")
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
            "kind", "range_lo", "range_hi", "open_lower", "open_upper", "n_bins", "distribution", "edges",
            "outcome_value", "outcome_bin",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.ListField(child=serializers.FloatField(), allow_null=True))
    def get_distribution(self, market: Market) -> list[float] | None:
        if market.kind != "numeric":
            return None
        from market.selectors import market_distribution

        return [float(x) for x in market_distribution(market=market)]

    @extend_schema_field(serializers.ListField(child=serializers.FloatField(), allow_null=True))
    def get_edges(self, market: Market) -> list[float] | None:
        if market.kind != "numeric":
            return None
        from market.services.forecasts import market_bins

        return [float(x) for x in market_bins(market).edges]

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
    community_distribution = serializers.ListField(
        child=serializers.FloatField(), read_only=True, allow_null=True,
        help_text="Numeric markets: the recency-weighted mixture of the forecasters' latest distributions.")
    resolution_note = serializers.CharField(read_only=True)

    class Meta(MarketSerializer.Meta):
        fields = [*MarketSerializer.Meta.fields, "price_history", "community_probability", "community_distribution",
                  "resolution_note"]
        read_only_fields = fields


class ForecastSerializer(serializers.ModelSerializer):
    user = serializers.CharField(source="user.username", read_only=True)
    cost = serializers.FloatField()
    delta_yes = serializers.FloatField()
    delta_no = serializers.FloatField()

    class Meta:
        model = Forecast
        fields = ["id", "user", "probability_before", "probability_after", "cost", "delta_yes", "delta_no",
                  "created_at", "prices_after"]
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
    kind = serializers.CharField(source="market.kind")
    shares_bins = serializers.ListField(child=serializers.FloatField(), allow_null=True,
                                        help_text="Numeric markets: shares per outcome (the payout if it happens).")
    payouts = serializers.ListField(child=serializers.DictField(), allow_null=True,
                                    help_text="Numeric markets: [{region, low, high, payout}] per outcome bin.")


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
