"""Proposal pages."""
from django.urls import path

from proposals import views

app_name = "proposals"
urlpatterns = [
    path("proposals/", views.proposal_list, name="proposals"),
    path("proposals/new/", views.proposal_new, name="proposal-new"),
    path("proposals/new/factor/", views.proposal_new_factor, name="proposal-new-factor"),
    path("proposals/<int:pk>/", views.proposal_detail, name="proposal-detail"),
    path("proposals/<int:pk>/approve/", views.proposal_approve_view, name="proposal-approve"),
    path("proposals/<int:pk>/reject/", views.proposal_reject_view, name="proposal-reject"),
    path("proposals/<int:pk>/dry_run/", views.proposal_dry_run_view, name="proposal-dry-run"),
]
