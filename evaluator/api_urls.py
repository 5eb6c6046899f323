"""REST API (/api/v1/) of the evaluator app."""
from django.urls import path  # noqa: F401

urlpatterns: list = []
