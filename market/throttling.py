"""Rate limits shared by the website and the API."""
from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle


class LoginRateThrottle(SimpleRateThrottle):
    """Login attempts per client address (``PATHMARKET_THROTTLE_LOGIN``, default 10/min).

    One budget for the login form and ``POST /api/v1/auth/token/``, counted on every attempt (a
    correct password is refused too while the address is over the limit), so password guessing
    cannot switch channels to get more tries.
    """

    scope = "login"

    def get_cache_key(self, request, view) -> str:  # type: ignore[no-untyped-def, override]
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
