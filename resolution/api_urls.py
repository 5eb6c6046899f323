"""REST API (/api/v1/) of the resolution app: the runs, each shown with its market, and a factor market's
survey campaign (``markets/{id}/campaign/``, next to the market app's ``markets/{id}/`` paths)."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from resolution.api import MarketCampaignView, RunViewSet

router = SimpleRouter()
router.register("runs", RunViewSet, basename="run")
urlpatterns = [
    *router.urls,
    path("markets/<int:pk>/campaign/", MarketCampaignView.as_view(), name="api-market-campaign"),
]
