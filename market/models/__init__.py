"""Models of the market app: accounts and the double-entry ledger, markets, positions and trades.

Split by topic; import from ``market.models`` (other modules, e.g. proposals, can be added here).
"""
from market.models.ledger import Account, LedgerEntry
from market.models.markets import Comparator, Concept, Forecast, Market, MarketStatus, Outcome, Position
from market.models.proposals import Proposal, ProposalStatus
from market.models.runs import MarketRun

__all__ = [
    "Account",
    "Comparator",
    "Concept",
    "Forecast",
    "LedgerEntry",
    "Market",
    "MarketRun",
    "MarketStatus",
    "Outcome",
    "Position",
    "Proposal",
    "ProposalStatus",
]
