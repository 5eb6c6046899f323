"""REST API (/api/v1/) of the market app — paths as in docs/architecture.md, "HTTP contract"."""
from django.urls import path

from market.api import views
from market.api.evidence import MarketEvidenceView

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("health/", views.HealthView.as_view(), name="api-health"),
    path("markets/", views.MarketListView.as_view(), name="api-markets"),
    path("markets/<int:pk>/", views.MarketDetailView.as_view(), name="api-market"),
    path("markets/<int:pk>/evidence/", MarketEvidenceView.as_view(), name="api-market-evidence"),
    path("markets/<int:pk>/forecasts/", views.ForecastsView.as_view(), name="api-market-forecasts"),
    path("me/", views.MeView.as_view(), name="api-me"),
]
