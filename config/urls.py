from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.static import serve

urlpatterns = [
    path("admin/", admin.site.urls),
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("config.api_urls")),
    path("", include("market.urls")),
    path("", include("experiments.urls")),
    path("", include("evaluator.urls")),
    # Run artifacts (plots, CSV, result.json) are public research output; served by Django here and
    # by the web container in production (whitenoise serves only static files).
    path("media/<path:path>", serve, {"document_root": settings.MEDIA_ROOT}),
]
