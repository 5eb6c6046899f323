"""HTML pages of the evaluator app."""
from django.urls import path  # noqa: F401

app_name = "evaluator"
urlpatterns: list = []
