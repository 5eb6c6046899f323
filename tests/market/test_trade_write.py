"""The single-statement PostgreSQL writer and the ORM writer produce the same rows."""
import functools

import pytest

import market.services.forecasts as forecasts
from market.models import Account, Forecast, LedgerEntry, Position
from market.reconcile import ledger_reconcile
from market.services import forecast_place
from market.services.trade_write import trade_write
from tests.market.factories import MarketFactory, UserFactory

SEQUENCE = [0.7, 0.3, 0.55, 0.55, 0.9, 0.1]


def _trade_sequence(monkeypatch, *, single_statement: bool) -> dict:
    monkeypatch.setattr(forecasts, "trade_write", functools.partial(trade_write, single_statement=single_statement))
    market, alice, bob = MarketFactory(), UserFactory(), UserFactory()
    for i, p in enumerate(SEQUENCE):
        forecast_place(user=alice if i % 2 == 0 else bob, market=market, probability=p)
    market.refresh_from_db()
    return {
        "q": (market.q_yes, market.q_no),
        "forecasts": list(Forecast.objects.filter(market=market).order_by("pk").values_list(
            "probability_before", "probability_after", "delta_yes", "delta_no", "cost")),
        "positions": sorted(Position.objects.filter(market=market).values_list("shares_yes", "shares_no", "net_cost")),
        "trades": list(LedgerEntry.objects.filter(market=market, kind="trade").order_by("pk").values_list(
            "amount", "debit_account__kind", "credit_account__kind")),
        "balances": [Account.objects.get(user=u).balance for u in (alice, bob)]
        + [Account.objects.get(market=market).balance],
    }


@pytest.mark.postgres
@pytest.mark.django_db
def test_single_statement_and_orm_writers_agree(require_postgres, monkeypatch):
    fast = _trade_sequence(monkeypatch, single_statement=True)
    orm = _trade_sequence(monkeypatch, single_statement=False)
    assert fast == orm
    assert len(fast["forecasts"]) == len(SEQUENCE) and len(fast["trades"]) == len(SEQUENCE) - 1  # one no-op
    assert ledger_reconcile().ok
