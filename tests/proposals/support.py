"""Helpers shared by the proposal tests: a valid proposal body and API clients."""
from __future__ import annotations

import copy
from datetime import timedelta

from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

VALID_SPEC = {"concept": "A", "task": "digits", "arch": "mlp", "seeds": 8, "preset": "tiny",
              "params": {"steps": 120, "noise": 0.4}}


def proposal_body(**overrides) -> dict:
    """A valid POST /api/v1/proposals/ body; keyword arguments replace top-level fields."""
    body = {
        "concept": "A",
        "title": "Do digits MLPs disagree off-distribution?",
        "text": "Eight seeds of a small MLP on digits: **do they disagree** on noisy digits?",
        "spec": copy.deepcopy(VALID_SPEC),
        "statistic": "dis_ood",
        "comparator": ">=",
        "threshold": 0.03,
        "close_time": (timezone.now() + timedelta(days=7)).isoformat(),
        "liquidity": 100,
    }
    body.update(overrides)
    return body


def with_spec(**spec_overrides) -> dict:
    """A valid body whose spec has these keys replaced."""
    spec = {**copy.deepcopy(VALID_SPEC), **spec_overrides}
    return proposal_body(spec=spec)


def with_params(**params) -> dict:
    spec = copy.deepcopy(VALID_SPEC)
    spec["params"] = {**spec["params"], **params}
    return proposal_body(spec=spec)


def token_client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client
