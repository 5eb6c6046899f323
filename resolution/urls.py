"""HTML pages of the resolution app: a market's resolution report (a factor market's with its campaign's
CSV and design file) and the staff actions on its runs."""
from django.urls import path

from resolution import views

app_name = "resolution"
urlpatterns = [
    path("markets/<int:market_id>/report/", views.market_report, name="market-report"),
    path("markets/<int:market_id>/campaign.csv", views.market_campaign_csv, name="market-campaign-csv"),
    path("markets/<int:market_id>/design.json", views.market_design_json, name="market-design-json"),
    path("markets/<int:market_id>/campaign/resend/", views.campaign_resend_view, name="campaign-resend"),
    path("markets/<int:market_id>/campaign/annul/", views.campaign_annul_view, name="campaign-annul"),
    path("runs/<int:run_id>/requeue/", views.run_requeue_view, name="run-requeue"),
    path("runs/<int:run_id>/verify/", views.run_verify_view, name="run-verify"),
    path("runs/<int:run_id>/annul/", views.run_annul_view, name="run-annul"),
    path("runs/<int:run_id>/reresolve/", views.run_reresolve_view, name="run-reresolve"),
]
