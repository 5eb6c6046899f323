"""/me/: balance, open and settled positions, profit and loss that match the ledger, the balance plot
and the user's proposals."""

from __future__ import annotations

import math
import re
from decimal import Decimal

import pytest
from django.db.models import Q, Sum

from market.models import Account, LedgerEntry
from market.services import forecast_place, market_annul, market_close, market_resolve
from portfolio.selectors import portfolio_get
from proposals.services import proposal_create
from tests.market.factories import MarketFactory, UserFactory
from tests.proposals.support import proposal_body

pytestmark = pytest.mark.django_db
CENT = Decimal("0.01")


def ledger_net(account: Account, market) -> Decimal:  # noqa: ANN001
    """Credits minus debits of the account over the entries naming the market, straight from the ledger."""
    entries = LedgerEntry.objects.filter(market=market)
    credit = entries.filter(credit_account=account).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    debit = entries.filter(debit_account=account).aggregate(s=Sum("amount"))["s"] or Decimal(0)
    return credit - debit


def test_portfolio_figures_match_the_ledger(client):
    user, other = UserFactory(), UserFactory()
    won, lost, annulled, still_open = (MarketFactory(title=t) for t in ("Won", "Lost", "Annulled", "Open"))
    forecast_place(user=user, market=won, probability=0.7)  # buys YES
    forecast_place(user=other, market=won, probability=0.4)
    forecast_place(user=user, market=lost, probability=0.8)
    forecast_place(user=user, market=annulled, probability=0.2)
    forecast_place(user=user, market=still_open, probability=0.6)
    for market, outcome in ((won, "yes"), (lost, "no")):
        market_close(market=market)
        market_resolve(market=market, outcome=outcome)
    market_annul(market=annulled, reason="broken spec")

    account = Account.objects.get(user=user)
    portfolio = portfolio_get(user=user)
    assert portfolio.balance == account.balance
    settled = {row.market.title: row for row in portfolio.settled}
    assert set(settled) == {"Won", "Lost", "Annulled"}
    for row in portfolio.settled:
        assert row.profit == ledger_net(account, row.market)
    # By hand: "Lost" paid 100·ln(0.5/0.2) for YES shares that paid nothing; an annulment refunds the cost.
    assert float(settled["Lost"].profit) == pytest.approx(-100 * math.log(0.5 / 0.2), abs=1e-6)
    assert settled["Annulled"].profit == 0 and settled["Annulled"].received == settled["Annulled"].net_cost
    assert settled["Won"].profit == settled["Won"].shares_yes - settled["Won"].net_cost
    # Everything the ledger moved for this user: the grant plus every market's net, and the plot ends there.
    grant = LedgerEntry.objects.get(kind="grant", credit_account=account).amount
    open_net = ledger_net(account, still_open)
    assert grant + portfolio.realised_profit + open_net == account.balance
    assert portfolio.balance_series[-1][1] == account.balance
    assert (
        len(portfolio.balance_series)
        == LedgerEntry.objects.filter(Q(credit_account=account) | Q(debit_account=account)).count()
    )
    [row] = portfolio.open
    p = row.market.probability
    assert row.payout_if_yes == row.shares_yes and row.shares_no == 0
    assert float(row.value) == pytest.approx(float(row.shares_yes) * p, abs=1e-6)
    assert -open_net == row.net_cost

    client.force_login(user)
    html = client.get("/me/").content.decode()
    assert f'id="me-balance">{account.balance:,.2f}<' in html
    assert f'id="me-realised">{portfolio.realised_profit:,.2f}<' in html
    lost_row = re.search(rf'<tr data-market="{lost.pk}">(.*?)</tr>', html, re.S).group(1)
    assert f"{settled['Lost'].profit:,.2f}" in lost_row
    assert 'class="balance-chart"' in html and "Open</a>" in html


def test_the_portfolio_lists_own_proposals_and_needs_a_login(client):
    user = UserFactory()
    proposal_create(proposer=user, data=proposal_body(title="My proposed market"))
    proposal_create(proposer=UserFactory(), data=proposal_body(title="Someone else's"))
    assert client.get("/me/").status_code == 302
    client.force_login(user)
    html = client.get("/me/").content.decode()
    assert "My proposed market" in html and "Someone else" not in html and "pending" in html
    assert "No market you traded has resolved yet" in html


def test_markets_you_hold_are_marked_on_the_home_page(client):
    user = UserFactory()
    held, not_held = MarketFactory(title="Held"), MarketFactory(title="Not held")
    forecast_place(user=user, market=held, probability=0.7)
    client.force_login(user)
    html = client.get("/").content.decode()
    row = re.search(rf'<tr data-market="{held.pk}">(.*?)</tr>', html, re.S).group(1)
    other = re.search(rf'<tr data-market="{not_held.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "you hold" in row and "you hold" not in other
    assert 'id="home-balance"' in html
