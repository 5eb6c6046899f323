"""Writes of the market app (HackSoft style: ``<entity>_<action>``, keyword-only, transactional)."""
from market.services.accounts import account_for, account_open, house_account, ledger_post
from market.services.forecasts import ForecastResult, forecast_place, forecast_quote
from market.services.lifecycle import (
    AnnulResult,
    ReresolveResult,
    ResolveResult,
    market_annul,
    market_close,
    market_open,
    market_open_numeric,
    market_reresolve,
    market_resolve,
    market_resolve_numeric,
    markets_close_due,
)

__all__ = [
    "AnnulResult",
    "ForecastResult",
    "ReresolveResult",
    "ResolveResult",
    "account_for",
    "account_open",
    "forecast_place",
    "forecast_quote",
    "house_account",
    "ledger_post",
    "market_annul",
    "market_close",
    "market_open",
    "market_open_numeric",
    "market_reresolve",
    "market_resolve_numeric",
    "market_resolve",
    "markets_close_due",
]
