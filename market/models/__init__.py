"""Models of the market app: accounts and the double-entry ledger, markets, positions and trades.

Split by topic; import from ``market.models`` (other modules, e.g. proposals, can be added here).
"""
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
from market.models.proposals import Proposal, ProposalStatus

__all__ = [
    "Account",
    "Comparator",
    "Concept",
    "Forecast",
    "LedgerEntry",
    "Market",
    "MarketKind",
    "MarketStatus",
    "Outcome",
    "Position",
    "Proposal",
    "ProposalStatus",
]
