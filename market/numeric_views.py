"""The page of a numeric market: its distribution, the distribution editor and the forecaster's payouts.

The editor is a plain form of 1–3 logistic components (centre, spread, relative weight): without
JavaScript, "Quote" re-renders the page with the cost and the payout per region, and "Place forecast"
trades. static/js/numeric_forecast.js adds sliders, a live PDF/CDF plot and live quotes through the API.
"""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from experiments.concepts import MARKET_CONCEPTS
from market import selectors
from market.distributions import MAX_COMPONENTS, DistributionError, support_edges
from market.exceptions import MarketError
from market.models import Market, MarketStatus
from market.numeric_charts import distribution_svg
from market.services import account_for, forecast_place
from market.services.forecasts import market_bins
from market.services.trade_write import decimals_load
from market.specs import criterion_in_words


class ComponentsForm(forms.Form):
    """Up to three logistic components; weights are relative (the page normalizes them to sum to 1)."""

    def __init__(self, *args, market: Market, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        lo, hi = float(market.range_lo), float(market.range_hi)
        step = (hi - lo) / 1000
        for i in range(MAX_COMPONENTS):
            self.fields[f"center_{i}"] = forms.FloatField(
                label=f"Centre {i + 1}",
                initial=round(lo + (hi - lo) * (0.5 + 0.2 * (i - 1) * (i > 0)), 6),
                widget=forms.NumberInput(
                    attrs={"step": f"{step:.6g}", "data-role": "center", "data-index": i}
                ),
            )
            self.fields[f"spread_{i}"] = forms.FloatField(
                label=f"Spread {i + 1}",
                initial=round((hi - lo) / 10, 6),
                widget=forms.NumberInput(
                    attrs={
                        "step": f"{step:.6g}",
                        "min": f"{step:.6g}",
                        "data-role": "spread",
                        "data-index": i,
                    }
                ),
            )
            self.fields[f"weight_{i}"] = forms.FloatField(
                label=f"Weight {i + 1}",
                initial=1.0 if i == 0 else 0.0,
                min_value=0.0,
                max_value=1.0,
                widget=forms.NumberInput(
                    attrs={"step": "0.01", "min": "0", "max": "1", "data-role": "weight", "data-index": i}
                ),
            )

    def clean(self) -> dict:
        data = super().clean()
        weights = [data.get(f"weight_{i}") or 0.0 for i in range(MAX_COMPONENTS)]
        if sum(weights) <= 0:
            raise forms.ValidationError("Give at least one component a weight above 0.")
        return data

    def components(self) -> list[dict]:
        """The API's ``components``: the used components with their weights normalized to sum to 1."""
        data = self.cleaned_data
        used = [i for i in range(MAX_COMPONENTS) if (data.get(f"weight_{i}") or 0) > 0]
        total = sum(data[f"weight_{i}"] for i in used)
        return [
            {
                "center": data[f"center_{i}"],
                "spread": data[f"spread_{i}"],
                "weight": data[f"weight_{i}"] / total,
            }
            for i in used
        ]


def numeric_detail(request: HttpRequest, market: Market) -> HttpResponse:
    """GET: the page. POST ``action=quote``: the page with the quote; ``action=place``: trade and redirect."""
    form = ComponentsForm(market=market)
    quote = None
    status_code = 200
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next=/markets/{market.pk}/")
        form = ComponentsForm(request.POST, market=market)
        dry_run = request.POST.get("action") != "place"
        if form.is_valid():
            try:
                result = forecast_place(
                    user=request.user,
                    market=market,
                    dry_run=dry_run,
                    distribution={"components": form.components()},
                )
            except (MarketError, DistributionError) as exc:
                form.add_error(None, exc.message)
            else:
                if not dry_run:
                    verb = "paid" if result.cost >= 0 else "received"
                    messages.success(
                        request,
                        f"Forecast placed: the distribution moved; you {verb} {abs(result.cost):.2f} points.",
                    )
                    return redirect(f"/markets/{market.pk}/#forecast")
                quote = result
        if not form.is_valid() or form.errors:
            status_code = 400
    return render(
        request, "market/detail_numeric.html", _context(request, market, form, quote), status=status_code
    )


def _context(request: HttpRequest, market: Market, form: ComponentsForm, quote) -> dict:
    from market.selectors import community_distribution

    bins = market_bins(market)
    support = [
        float(x) for x in support_edges(bins.edges, open_lower=bins.open_lower, open_upper=bins.open_upper)
    ]
    current = selectors.market_distribution(market=market)
    community = community_distribution(market_id=market.pk)
    user = request.user
    position = selectors.position_get(user=user, market=market)
    held = decimals_load(position.shares_bins) if position is not None and position.shares_bins else None
    payouts = selectors.position_payouts(market=market, shares=held) if held else None
    quote_rows = None
    if quote is not None:
        quote_rows = selectors.position_payouts(market=market, shares=quote.shares)
    config = {
        "market": market.pk,
        "support": support,
        "lo": bins.lo,
        "hi": bins.hi,
        "n": bins.n,
        "open_lower": bins.open_lower,
        "open_upper": bins.open_upper,
        "current": current,
        "labels": bins.labels(),
        "held": [float(x) for x in held] if held else None,
    }
    outcome = market.outcome_value if market.status == MarketStatus.RESOLVED else None
    return {
        "market": market,
        "concept": MARKET_CONCEPTS[market.concept],
        "chart": distribution_svg(
            support,
            current,
            proposed=list(quote.prices_after) if quote else None,
            community=community,
            outcome=outcome,
            open_lower=bins.open_lower,
            open_upper=bins.open_upper,
        ),
        "mean": float(np.dot(current, (np.array(support[:-1]) + np.array(support[1:])) / 2)),
        "labels": bins.labels(),
        "spec_json": json.dumps(market.spec, indent=2, sort_keys=True),
        "criterion_words": criterion_in_words(spec=market.spec, statistic=market.statistic, comparator="",
                                              threshold=None, confidence=market.confidence)
        if market.is_campaign else "",
        "config": config,
        "form": form,
        "component_rows": [(form[f"center_{i}"], form[f"spread_{i}"], form[f"weight_{i}"]) for i in range(3)],
        "quote": quote,
        "quote_rows": quote_rows,
        "position": position,
        "payouts": payouts,
        "balance": account_for(user=user).balance if user.is_authenticated else None,
        "recent": selectors.forecast_history(market=market)[:15],
        "can_forecast": market.status == MarketStatus.OPEN and timezone.now() < market.close_time,
        "outcome_label": bins.labels()[market.outcome_bin] if market.outcome_bin is not None else None,
        "zero": Decimal(0),
    }
