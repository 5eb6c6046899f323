"""Shared helpers of the resolution-pipeline tests: a tiny market with traders, eager Celery."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

TINY_SPEC = {"concept": "A", "task": "digits", "arch": "mlp", "preset": "tiny", "seeds": 4, "seed_budget": 8}


def tiny_market(*, comparator: str = ">=", threshold: float = 0.01, spec: dict | None = None,
                traders: int = 2):
    """An OPEN market on the tiny digits spec, with ``traders`` users who bought YES or NO."""
    from market.services import forecast_place, market_open
    from tests.market.factories import UserFactory

    market = market_open(
        title="tiny digits disagreement", concept="A",
        question="Do tiny digits MLPs disagree off-distribution?",
        spec=dict(spec or TINY_SPEC), statistic="dis_ood", comparator=comparator, threshold=threshold,
        close_time=timezone.now() + timedelta(hours=1),
    )
    users = []
    for i in range(traders):
        user = UserFactory()
        forecast_place(user=user, market=market, probability=0.8 if i % 2 == 0 else 0.3)
        users.append(user)
    return market, users


def ledger_snapshot() -> list[tuple]:
    from market.models import LedgerEntry

    return list(LedgerEntry.objects.order_by("pk").values_list("pk", "kind", "amount", "credit_account_id"))


def payout_total(market) -> Decimal:
    from django.db.models import Sum

    from market.models import LedgerEntry

    total = LedgerEntry.objects.filter(market=market, kind="payout").aggregate(s=Sum("amount"))["s"]
    return total or Decimal(0)


@pytest.fixture
def eager_celery(settings, tmp_path):
    """Run Celery tasks in-process (chords included) with artifacts under a temporary MEDIA_ROOT."""
    import torch

    from config.celery import app

    torch.set_num_threads(1)  # the CI machine has 2 shared cores; threads fight under load
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PATHMARKET = {**settings.PATHMARKET, "ARTIFACTS_DIR": tmp_path / "media" / "runs",
                           "SEED_CHUNK_SIZE": 2}
    old = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, False
    try:
        yield app
    finally:
        app.conf.task_always_eager, app.conf.task_eager_propagates = old
