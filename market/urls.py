"""HTML pages of the market app."""
from django.urls import path

from market import views
from market.evidence_views import market_evidence_csv

app_name = "market"
urlpatterns = [
    path("", views.home, name="home"),
    path("markets/<int:pk>/", views.market_detail, name="detail"),
    path("markets/<int:pk>/evidence.csv", market_evidence_csv, name="evidence-csv"),
    path("accounts/register/", views.register, name="register"),
]
