"""What the market app announces.

``market_settled`` is sent with ``market_id=<int>`` inside the transaction that resolves, re-resolves
or annuls a market, after the payouts are written. Listeners must not write in that transaction
anything that could fail: the evaluator's listener only schedules the score recomputation for after
the commit (``evaluator.receivers``), so a scoring bug can never undo a payout.
"""
from __future__ import annotations

from django.dispatch import Signal

market_settled = Signal()  # kwargs: market_id (int)
