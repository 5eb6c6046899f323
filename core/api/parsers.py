"""Request parsers shared by the API views."""
from __future__ import annotations

import json

from rest_framework import exceptions
from rest_framework.parsers import JSONParser


class NaNTolerantJSONParser(JSONParser):
    """Parses NaN/Infinity tokens so a number field can reject them with a clear message."""

    def parse(self, stream, media_type=None, parser_context=None):  # type: ignore[no-untyped-def]
        encoding = (parser_context or {}).get("encoding", "utf-8")
        try:
            return json.loads(stream.read().decode(encoding), parse_constant=float)
        except (ValueError, UnicodeDecodeError) as exc:
            raise exceptions.ParseError(f"The request body is not valid JSON: {exc}") from exc
