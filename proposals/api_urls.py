"""REST API (/api/v1/) of the proposals app."""
from rest_framework.routers import SimpleRouter

from proposals.api import ProposalViewSet

_router = SimpleRouter()
_router.register("proposals", ProposalViewSet, basename="proposal")
urlpatterns = _router.urls
