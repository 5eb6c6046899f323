"""Proposal pages (included by market.urls) and the proposals API routes (included by market.api.urls)."""
from django.urls import path
from rest_framework.routers import SimpleRouter

from market import proposal_views as views
from market.api.proposals import ProposalViewSet

urlpatterns = [
    path("proposals/", views.proposal_list, name="proposals"),
    path("proposals/new/", views.proposal_new, name="proposal-new"),
    path("proposals/<int:pk>/", views.proposal_detail, name="proposal-detail"),
    path("proposals/<int:pk>/approve/", views.proposal_approve_view, name="proposal-approve"),
    path("proposals/<int:pk>/reject/", views.proposal_reject_view, name="proposal-reject"),
    path("proposals/<int:pk>/dry_run/", views.proposal_dry_run_view, name="proposal-dry-run"),
]

_router = SimpleRouter()
_router.register("proposals", ProposalViewSet, basename="proposal")
api_urlpatterns = _router.urls
