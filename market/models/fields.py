"""Shared field definitions: points and shares are exact decimals so ledger sums reconcile to the unit."""
from __future__ import annotations

from decimal import Decimal

from django.db import models

POINT_DIGITS = 20
POINT_PLACES = 8
QUANTUM = Decimal(1).scaleb(-POINT_PLACES)  # 1e-8 point / share


def PointsField(**kwargs) -> models.DecimalField:  # noqa: N802 - reads like a field class
    """Points or shares, 8 decimal places."""
    kwargs.setdefault("default", Decimal(0))
    return models.DecimalField(max_digits=POINT_DIGITS, decimal_places=POINT_PLACES, **kwargs)
