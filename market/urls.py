"""HTML pages of the market app."""
from django.urls import path

from market import views
from market.proposal_urls import urlpatterns as proposal_urlpatterns

app_name = "market"
urlpatterns = [
    path("", views.home, name="home"),
    path("markets/<int:pk>/", views.market_detail, name="detail"),
    path("accounts/register/", views.register, name="register"),
    *proposal_urlpatterns,
]
