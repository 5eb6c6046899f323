"""HTML pages of the market app: thin views over selectors and services."""
from __future__ import annotations

import json
import math

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from core.api.throttling import LoginRateThrottle
from experiments.charts import price_chart_svg
from experiments.concepts import FACTOR, MARKET_CONCEPTS
from market import selectors
from market.evidence_views import evidence_panel
from market.exceptions import InsufficientBalance, MarketError
from market.forms import ForecastForm, RegisterForm
from market.models import Concept, Market, MarketKind, MarketStatus
from market.services import ForecastResult, account_for, account_open, forecast_place
from market.specs import criterion_in_words


def home(request: HttpRequest) -> HttpResponse:
    concept = request.GET.get("concept") or None
    status = request.GET.get("status") or None
    concept = concept if concept in Concept.values else None
    status = status if status in MarketStatus.values else None
    search = (request.GET.get("q") or "").strip()[:200]
    sort = request.GET.get("sort") if request.GET.get("sort") in selectors.MARKET_SORTS else None
    markets = selectors.market_search(search=search, concept=concept, status=status, sort=sort)
    # Filters, search and sort are one GET form: the URL holds them all, so a view can be shared.
    groups = [
        {"concept": MARKET_CONCEPTS[letter], "markets": [m for m in markets if m.concept == letter]}
        # the general factor (g) first: it is the question the eight concepts add up to
        for letter in sorted(Concept.values, key=lambda c: (c != FACTOR, c))
        if concept in (None, letter)
    ]
    return render(request, "market/home.html", {
        "groups": groups,
        "flat": markets if (search or sort) else None,
        "concept": concept,
        "status": status,
        "search": search,
        "sort": sort,
        "sorts": selectors.MARKET_SORTS,
        "concepts": list(MARKET_CONCEPTS.values()),
        "statuses": MarketStatus.values,
        "count": len(markets),
        "held": selectors.held_market_ids(user=request.user),
        "balance": selectors.account_balance(user=request.user),
    })


@require_http_methods(["GET", "POST"])
def market_detail(request: HttpRequest, pk: int) -> HttpResponse:
    market = get_object_or_404(selectors.market_list(), pk=pk)
    if market.kind == MarketKind.NUMERIC:
        from market.numeric_views import numeric_detail

        return numeric_detail(request, market)
    initial = {"percent": round(market.probability * 100, 1)}
    form = ForecastForm(initial=initial)
    status_code, furthest = 200, None
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect(f"/accounts/login/?next=/markets/{pk}/")
        form = ForecastForm(request.POST)
        probability = None
        if request.POST.get("close") == "1":  # "close position": sell every share held
            form = ForecastForm(initial=initial)
            probability = selectors.position_close_probability(user=request.user, market=market)
            if probability is None:
                messages.error(request, "You hold no shares in this market, so there is nothing to close.")
                return redirect(f"/markets/{pk}/#forecast")
        elif form.is_valid():
            probability = form.probability
        if probability is not None:
            try:
                result = forecast_place(user=request.user, market=market, probability=probability)
            except InsufficientBalance as exc:
                furthest = exc.furthest_probability
                messages.error(request, _unaffordable_message(exc, probability))
            except MarketError as exc:
                if form.is_bound:
                    form.add_error("percent", exc.message)
                else:  # "close position" has no field to attach the error to
                    messages.error(request, exc.message)
            else:
                messages.success(request, _trade_message(result))
                return redirect(f"/markets/{pk}/#forecast")
        status_code = 400
    context = _detail_context(request, market, form)
    context["furthest"] = furthest
    context["furthest_percent"] = f"{furthest * 100:.2f}" if furthest is not None else ""
    return render(request, "market/detail.html", context, status=status_code)


def _unaffordable_message(exc: InsufficientBalance, probability: float) -> str:
    tail = (f"The furthest you can afford is {exc.furthest_probability:.2%}."
            if exc.furthest_probability is not None
            else "You cannot afford to move this market's price in that direction.")
    return (f"Insufficient balance: moving the price to {probability:.1%} costs {exc.cost:.2f} points but your "
            f"balance is {exc.balance:.2f}. {tail}")


def _trade_message(result: ForecastResult) -> str:
    moved = f"Forecast placed: the price moved from {result.probability_before:.1%} to {result.probability_after:.1%}"
    if result.cost >= 0:
        return f"{moved}; you paid {result.cost:.2f} points."
    sold = [f"{-d:,.2f} {side} shares" for d, side in ((result.delta_yes, "YES"), (result.delta_no, "NO")) if d < 0]
    return (f"{moved}; you received {-result.cost:.2f} points, because this move sold back "
            f"{' and '.join(sold)} you held: a sale pays you what the shares are worth to the market now.")


def _detail_context(request: HttpRequest, market: Market, form: ForecastForm) -> dict:
    history = selectors.market_price_history(market=market)
    # One read of the forecasts: the series' last point is the current community aggregate.
    community = selectors.community_series(market_id=market.pk)
    user = request.user
    return {
        "market": market,
        "concept": MARKET_CONCEPTS[market.concept],
        "criterion_words": criterion_in_words(
            spec=market.spec, statistic=market.statistic, comparator=market.comparator,
            threshold=market.threshold, confidence=market.confidence,
        ),
        "spec_json": json.dumps(market.spec, indent=2, sort_keys=True),
        "chart": price_chart_svg(
            history, community=community, mine=selectors.forecast_indices(market=market, user=user),
            resolution=market.outcome.upper() if market.outcome else (
                "annulled" if market.status == MarketStatus.ANNULLED else None),
        ) if history else "",
        "n_forecasts": max(len(history) - 1, 0),
        "community_probability": community[-1]["probability"] if community else None,
        "position": selectors.position_get(user=user, market=market),
        "balance": account_for(user=user).balance if user.is_authenticated else None,
        "recent": selectors.forecast_history(market=market)[:15],
        "form": form,
        "slider_value": _slider_value(form, market),
        "close_probability": selectors.position_close_probability(user=user, market=market),
        "run": _resolution_run(market),
        "can_forecast": market.status == MarketStatus.OPEN and timezone.now() < market.close_time,
        "evidence": evidence_panel(market),  # issue 14: the nearest survey rows and resolved runs
    }


def _resolution_run(market: Market):  # -> experiments.models.ExperimentRun | None
    """The run whose result the page leads with once the market is settled."""
    if market.status not in (MarketStatus.RESOLVED, MarketStatus.ANNULLED):
        return None
    return selectors.market_resolution_run(market_id=market.pk)


def _slider_value(form: ForecastForm, market: Market) -> str:
    """The slider's position in percent (1–99)."""
    try:
        value = float(form["percent"].value())
    except (TypeError, ValueError):
        value = market.probability * 100
    return f"{min(max(value, 1.0), 99.0):.1f}"


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    next_url = request.POST.get("next") or request.GET.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "/"
    if request.user.is_authenticated:
        return redirect(next_url)
    form = RegisterForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user = form.save()
        account = account_open(user=user)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome, {user.get_username()}! Your account starts with {account.balance:.0f} points.")
        return redirect(next_url)
    return render(request, "registration/register.html", {"form": form, "next": next_url})


def _login_refused(request: HttpRequest, next_url: str) -> HttpResponse | None:
    """A 429 login page when the client's address is over the login limit (shared with the API's token
    endpoint), else None. The form comes back unbound: rendering a bound one would validate it, i.e.
    check the password, which an address over the limit must not get."""
    throttle = LoginRateThrottle()
    if throttle.allow_request(request, None):
        return None
    wait = math.ceil(throttle.wait() or 1)
    form = AuthenticationForm(request, initial={"username": request.POST.get("username", "")[:150]})
    context = {"form": form, "next": next_url,
               "throttled": f"Too many login attempts from your address. Try again in {wait} seconds."}
    response = render(request, "registration/login.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response


class LoginView(auth_views.LoginView):
    """Django's login page under the per-address login limit."""

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return _login_refused(request, self.get_redirect_url()) or super().post(request, *args, **kwargs)


def admin_login(request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
    """The admin's login page under the same limit (a refused attempt gets the site's login page)."""
    if request.method == "POST":
        refused = _login_refused(request, request.GET.get("next") or "/admin/")
        if refused is not None:
            return refused
    from django.contrib import admin

    return admin.site.login(request, extra_context)
