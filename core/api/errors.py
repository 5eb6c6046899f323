"""One JSON error shape for the whole API: {"detail": human message, "errors": {field: [messages]}}."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from drf_spectacular.utils import inline_serializer
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

# The error body, for the OpenAPI schema of every view (``responses={400: ERROR, …}``).
ERROR = inline_serializer(
    "Error", {"detail": serializers.CharField(), "errors": serializers.DictField(required=False)}
)


def _first_message(data: Any) -> str:
    if isinstance(data, dict):
        for key, value in data.items():
            msg = _first_message(value)
            if msg:
                return msg if key in ("detail", "non_field_errors") else f"{key}: {msg}"
    if isinstance(data, list | tuple):
        for item in data:
            msg = _first_message(item)
            if msg:
                return msg
    return str(data) if data not in (None, "") else ""


def _encodable(data: Any) -> Any:
    """``data`` with every string made UTF-8-encodable (an unpaired surrogate becomes ``\\ud800``)."""
    if isinstance(data, str):
        return data.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(data, dict):
        return {_encodable(k): _encodable(v) for k, v in data.items()}
    if isinstance(data, list | tuple):
        return [_encodable(v) for v in data]
    return data


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent):  # Django raises these while DRF parses
        return Response({"detail": "The request body is too large (the limit is "
                         f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024} KiB)."},
                        status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)
    # json.loads on '[[[[…' (DRF catches only ValueError)
    if isinstance(exc, RecursionError) and "JSON" in str(exc):
        exc = exceptions.ParseError("The request body is not valid JSON: it is nested too deeply.")
    if isinstance(exc, UnicodeEncodeError) and "surrogates not allowed" in str(exc):  # JSON "\ud800" escapes
        exc = exceptions.ParseError("The request body contains text that is not valid Unicode "
                                    "(an unpaired surrogate escape such as \\ud800).")
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    data = response.data
    if isinstance(exc, exceptions.ValidationError) and response.status_code == status.HTTP_400_BAD_REQUEST:
        errors = data if isinstance(data, dict) else {"non_field_errors": data}
        response.data = {"detail": _first_message(errors) or "Invalid input.", "errors": errors}
    elif isinstance(data, dict) and "detail" in data:
        response.data = {"detail": str(data["detail"]), **{k: v for k, v in data.items() if k != "detail"}}
    else:
        response.data = {"detail": _first_message(data)}
    response.data = _encodable(response.data)
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        response.data["retry_after_seconds"] = int(exc.wait)
    return response
