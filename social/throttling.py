"""The comment rate limit (``PATHMARKET_THROTTLE_COMMENTS``, default 6/min per user), shared by the page
form and the API because the service checks it."""

from __future__ import annotations

import math

from rest_framework.throttling import SimpleRateThrottle


class CommentRateThrottle(SimpleRateThrottle):
    scope = "comments"

    def __init__(self, *, user_id: int) -> None:
        super().__init__()
        self.user_id = user_id

    def get_cache_key(self, request, view) -> str:  # type: ignore[no-untyped-def, override]
        return self.cache_format % {"scope": self.scope, "ident": self.user_id}


def comment_throttle_wait(*, user_id: int) -> int | None:
    """None when the user may post now (and counts the post), else the seconds to wait."""
    throttle = CommentRateThrottle(user_id=user_id)
    if throttle.allow_request(None, None):
        return None
    return max(1, math.ceil(throttle.wait() or 1))
