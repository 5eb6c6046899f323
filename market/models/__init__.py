"""Models of the market app: accounts and the double-entry ledger, markets, positions and trades.

Split by topic; import from ``market.models``.
"""
from market.models.campaigns import MarketCampaign
from market.models.ledger import Account, LedgerEntry
from market.models.markets import (
    Comparator,
    Concept,
    Forecast,
    Market,
    MarketKind,
    MarketStatus,
    Outcome,
    Position,
)
from market.models.runs import MarketRun

__all__ = [
    "Account",
    "Comparator",
    "Concept",
    "Forecast",
    "LedgerEntry",
    "Market",
    "MarketCampaign",
    "MarketKind",
    "MarketRun",
    "MarketStatus",
    "Outcome",
    "Position",
]
