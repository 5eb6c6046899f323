"""Accounts, the signup grant and posting to the double-entry ledger."""
from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Case, DecimalField, Value, When

from market.models import Account, Forecast, LedgerEntry, Market
from market.models.fields import POINT_DIGITS, POINT_PLACES, QUANTUM

_BALANCE = DecimalField(max_digits=POINT_DIGITS, decimal_places=POINT_PLACES)


def points(value: Decimal | float | int) -> Decimal:
    """Quantize to the ledger's unit (1e-8 point)."""
    return Decimal(value).quantize(QUANTUM)


def house_account() -> Account:
    """The house account (created on first use): the source of grants and subsidies."""
    account = Account.objects.filter(kind=Account.Kind.HOUSE).first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return Account.objects.create(kind=Account.Kind.HOUSE)
    except IntegrityError:  # created concurrently (unique constraint on the house)
        return Account.objects.get(kind=Account.Kind.HOUSE)


def balances_set(new: dict[int, Decimal]) -> None:
    """Write new absolute balances (account id → points) in one statement.

    Callers hold the rows' locks and compute the values in Python: SQLite keeps decimals as floats, so
    ``balance = balance + x`` inside the database would not be exact there.
    """
    if new:
        whens = [When(pk=pk, then=Value(points(value), output_field=_BALANCE)) for pk, value in new.items()]
        Account.objects.filter(pk__in=list(new)).update(balance=Case(*whens, output_field=_BALANCE))


def ledger_post(
    *,
    kind: str,
    debit: Account,
    credit: Account,
    amount: Decimal,
    market: Market | None = None,
    forecast: Forecast | None = None,
    memo: str = "",
) -> LedgerEntry:
    """Move ``amount`` (> 0) points from ``debit`` to ``credit``: one entry, both balances updated."""
    amount = points(amount)
    if amount <= 0:
        raise ValueError(f"ledger amounts must be positive, got {amount}")
    with transaction.atomic():
        # Lock both rows (ascending id, like every other writer) and read their current balances.
        current = dict(
            Account.objects.select_for_update().filter(pk__in=(debit.pk, credit.pk)).order_by("pk")
            .values_list("pk", "balance")
        )
        entry = LedgerEntry.objects.create(
            kind=kind, debit_account=debit, credit_account=credit, amount=amount,
            market=market, forecast=forecast, memo=memo[:200],
        )
        debit.balance = current[debit.pk] - amount
        credit.balance = current[credit.pk] + amount
        balances_set({debit.pk: debit.balance, credit.pk: credit.balance})
    return entry


def account_open(*, user: AbstractBaseUser) -> Account:
    """The user's account, created on first use with the signup grant (idempotent)."""
    existing = Account.objects.filter(user=user).first()
    if existing is not None:
        return existing
    grant = points(settings.PATHMARKET["SIGNUP_GRANT"])
    house = house_account()
    try:
        with transaction.atomic():
            account = Account.objects.create(kind=Account.Kind.USER, user=user)
            if grant > 0:
                ledger_post(kind=LedgerEntry.Kind.GRANT, debit=house, credit=account, amount=grant,
                            memo=f"signup grant for {user.get_username()}")
    except IntegrityError:  # opened concurrently by another request
        return Account.objects.get(user=user)
    account.refresh_from_db(fields=["balance"])
    return account


def account_for(*, user: AbstractBaseUser) -> Account:
    """Alias used by views: every authenticated user has an account, whichever way they were created."""
    return account_open(user=user)
