"""REST API (/api/v1/) of the evaluator app."""
from django.urls import path

from evaluator import api

urlpatterns = [
    path("leaderboard/", api.LeaderboardView.as_view(), name="evaluator-leaderboard"),
    path("factor/", api.FactorView.as_view(), name="evaluator-factor"),
    path("users/<str:username>/calibration/", api.UserCalibrationView.as_view(), name="evaluator-user-calibration"),
    path("calibration/", api.ReferenceCalibrationView.as_view(), name="evaluator-reference-calibration"),
]
