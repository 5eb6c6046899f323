from django.contrib import admin
from django.shortcuts import redirect
from django.templatetags.static import static
from django.urls import include, path, re_path
from django.views.generic import RedirectView

from experiments.views import run_artifact
from market.views import LoginView, admin_login

urlpatterns = [
    # Browsers ask for /favicon.ico whatever the page says; resolved per request (the manifest of
    # hashed static names may not exist yet when this module is imported, e.g. by collectstatic).
    path("favicon.ico", lambda request: redirect(static("favicon.ico"), permanent=True)),
    path("admin/login/", admin_login),  # the login rate limit; before the admin's own login URL
    # Proposals moved out of the market app: old admin bookmarks land on the new place.
    re_path(
        r"^admin/market/proposal/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/proposals/proposal/%(rest)s", permanent=True, query_string=True),
    ),
    path("admin/", admin.site.urls),
    path("accounts/login/", LoginView.as_view(), name="login"),  # rate-limited; before auth's own
    path("accounts/", include("django.contrib.auth.urls")),
    path("api/v1/", include("config.api_urls")),
    path("", include("market.urls")),
    path("", include("proposals.urls")),
    path("", include("experiments.urls")),
    path("", include("resolution.urls")),
    path("", include("evaluator.urls")),
    path("", include("social.urls")),
    path("", include("portfolio.urls")),
    # Run artifacts (plots, CSV, result.json) live under MEDIA_ROOT/runs/<id>/ and are the only media.
    # They go through a view that checks who may see the run (whitenoise serves only static files).
    path("media/runs/<int:run_id>/<path:name>", run_artifact, name="run-artifact"),
]
