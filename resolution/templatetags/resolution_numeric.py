"""``{% numeric_report market run %}``: the numeric-market part of the resolution report.

It lives in the resolution app, the one place allowed to read the market (its distributions) and the
evaluator (each forecaster's scores) together. It shows the market's final distribution beside the
community mixture, the outcome with its bootstrap CI, and where the outcome fell in each forecaster's
last distribution (PIT, the probability of the outcome bin, the CRPS and the log score of the density).
"""

from __future__ import annotations

from django import template

register = template.Library()


@register.inclusion_tag("market/_numeric_report.html")
def numeric_report(market: object, run: object = None) -> dict:
    import numpy as np

    from evaluator import numeric
    from market.models import Forecast
    from market.numeric_charts import distribution_svg
    from market.selectors import community_distribution, market_distribution
    from market.services.forecasts import market_bins

    bins = market_bins(market)
    support = [
        float(x)
        for x in numeric.support_edges(bins.edges, open_lower=bins.open_lower, open_upper=bins.open_upper)
    ]
    final = market_distribution(market=market)
    community = community_distribution(market_id=market.pk)
    value = market.outcome_value
    if value is None and run is not None and getattr(run, "statistic", None) is not None:
        value = float(run.statistic)
    rows = []
    if value is not None:
        k = bins.outcome_of(float(value))
        latest: dict = {}
        for user, pmf in (
            Forecast.objects.filter(market=market, prices_after__isnull=False)
            .order_by("created_at", "pk")
            .values_list("user__username", "prices_after")
        ):
            latest[user] = pmf
        for user, pmf in sorted(latest.items()):
            rows.append(
                {
                    "user": user,
                    "p_bin": float(pmf[k]),
                    "pit": numeric.pit_value(pmf, support, value),
                    "crps": numeric.crps_bins(pmf, support, value),
                    "log_density": numeric.bin_log_score(pmf, support, value),
                }
            )
    ci = None
    if (
        run is not None
        and getattr(run, "ci_low", None) is not None
        and getattr(run, "ci_high", None) is not None
    ):
        ci = (float(run.ci_low), float(run.ci_high))
    return {
        "market": market,
        "chart": distribution_svg(
            support,
            final,
            community=community,
            outcome=value,
            open_lower=bins.open_lower,
            open_upper=bins.open_upper,
        ),
        "value": value,
        "ci": ci,
        "bin_label": bins.labels()[bins.outcome_of(float(value))] if value is not None else None,
        "p_market": float(final[bins.outcome_of(float(value))]) if value is not None else None,
        "p_community": float(np.asarray(community)[bins.outcome_of(float(value))])
        if value is not None and community
        else None,
        "rows": rows,
    }
