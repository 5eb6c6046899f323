"""Rate limits shared by the website and the API."""
from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle


class UserScopedThrottle(SimpleRateThrottle):
    """A per-user (per-IP when anonymous) rate of one scope of ``DEFAULT_THROTTLE_RATES``."""

    def get_cache_key(self, request, view):  # type: ignore[no-untyped-def]
        ident = request.user.pk if request.user and request.user.is_authenticated else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class LoginRateThrottle(SimpleRateThrottle):
    """Login attempts per client address (``PATHMARKET_THROTTLE_LOGIN``, default 10/min).

    One budget for the login form and ``POST /api/v1/auth/token/``, counted on every attempt (a
    correct password is refused too while the address is over the limit), so password guessing
    cannot switch channels to get more tries.
    """

    scope = "login"

    def get_cache_key(self, request, view) -> str:  # type: ignore[no-untyped-def, override]
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
