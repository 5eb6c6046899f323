"""HTML/file pages of the experiments app: a run's downloads (its artifacts are served by config.urls)."""
from django.urls import path

from experiments import views

app_name = "experiments"
urlpatterns = [
    path("runs/<int:run_id>/per_seed.csv", views.run_per_seed_csv, name="run-per-seed-csv"),
    path("runs/<int:run_id>/result.json", views.run_result_json, name="run-result"),
]
