from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portfolio.charts import balance_chart_svg
from portfolio.selectors import portfolio_get


@login_required
def me(request: HttpRequest) -> HttpResponse:
    portfolio = portfolio_get(user=request.user)
    return render(
        request,
        "portfolio/me.html",
        {
            "portfolio": portfolio,
            "chart": balance_chart_svg(portfolio.balance_series),
        },
    )
