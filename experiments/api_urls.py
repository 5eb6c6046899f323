"""REST API (/api/v1/) of the experiments app."""
from rest_framework.routers import SimpleRouter

from experiments.api import RunViewSet

router = SimpleRouter()
router.register("runs", RunViewSet, basename="run")
urlpatterns = router.urls
