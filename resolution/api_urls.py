"""REST API (/api/v1/) of the resolution app: the runs, each shown with its market."""
from rest_framework.routers import SimpleRouter

from resolution.api import RunViewSet

router = SimpleRouter()
router.register("runs", RunViewSet, basename="run")
urlpatterns = router.urls
