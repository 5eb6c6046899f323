"""HTML pages of the experiments app: the market resolution report, run downloads, staff actions."""
from django.urls import path

from experiments import views

app_name = "experiments"
urlpatterns = [
    path("markets/<int:market_id>/report/", views.market_report, name="market-report"),
    path("runs/<int:run_id>/per_seed.csv", views.run_per_seed_csv, name="run-per-seed-csv"),
    path("runs/<int:run_id>/result.json", views.run_result_json, name="run-result"),
    path("runs/<int:run_id>/requeue/", views.run_requeue_view, name="run-requeue"),
    path("runs/<int:run_id>/verify/", views.run_verify_view, name="run-verify"),
    path("runs/<int:run_id>/annul/", views.run_annul_view, name="run-annul"),
    path("runs/<int:run_id>/reresolve/", views.run_reresolve_view, name="run-reresolve"),
]
