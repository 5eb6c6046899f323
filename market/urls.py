"""HTML pages of the market app."""
from django.urls import path  # noqa: F401

app_name = "market"
urlpatterns: list = []
