"""The link from a market to its experiment runs.

The run does not know which market asked for it (experiments imports no other app); the market keeps
the link on its side. One row per run: the market's resolution runs (one active at a time, enforced
under the market's row lock by ``market.services.runs``) and the verification runs of them.
"""
from __future__ import annotations

from django.db import models

from experiments.models import ExperimentRun
from market.models.markets import Market


class MarketRun(models.Model):
    """``run`` was started for ``market`` (to resolve it, or to verify its resolution)."""

    run = models.OneToOneField(
        ExperimentRun, primary_key=True, on_delete=models.CASCADE, related_name="market_link"
    )
    market = models.ForeignKey(Market, on_delete=models.PROTECT, related_name="run_links")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["market", "run"]

    def __str__(self) -> str:
        return f"market {self.market_id} ← run {self.run_id}"
