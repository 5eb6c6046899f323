"""Errors of social services; each message is written for the person who caused it."""

from __future__ import annotations


class SocialError(Exception):
    field: str | None = None
    status = 400

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field


class CommentInvalid(SocialError):
    field = "body"


class CommentForbidden(SocialError):
    status = 403


class CommentThrottled(SocialError):
    status = 429

    def __init__(self, message: str, *, wait: int) -> None:
        super().__init__(message)
        self.wait = wait
