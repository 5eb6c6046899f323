"""HTML pages of the experiments app."""
from django.urls import path  # noqa: F401

app_name = "experiments"
urlpatterns: list = []
