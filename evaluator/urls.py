"""HTML pages and CSV exports of the evaluator app."""
from django.urls import path

from evaluator import views

app_name = "evaluator"
urlpatterns = [
    path("leaderboard/", views.leaderboard, name="leaderboard"),
    path("factor/", views.factor, name="factor"),
    path("users/<str:username>/", views.profile, name="profile"),
    path("users/<str:username>/forecasts.csv", views.export_my_forecasts, name="export-my-forecasts"),
    path("users/<str:username>/scores.csv", views.export_my_scores, name="export-my-scores"),
    path("exports/forecasts.csv", views.export_forecasts, name="export-forecasts"),
    path("exports/scores.csv", views.export_scores, name="export-scores"),
    path("exports/factor.csv", views.export_factor, name="export-factor"),
]
