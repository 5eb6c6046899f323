"""Management commands: seed_markets (idempotent) and reconcile (exit status)."""
from io import StringIO

import pytest
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from market.models import LedgerEntry, Market
from market.seed_data import NUMERIC_SEED_MARKETS, SEED_MARKETS
from market.specs import CriterionError, criterion_validate

pytestmark = pytest.mark.django_db


def test_seed_data_has_two_valid_markets_per_concept():
    concepts = [seed.spec["concept"] for seed in SEED_MARKETS]
    assert all(concepts.count(c) >= 2 for c in "ABCDEFGH") and len(SEED_MARKETS) >= 16
    assert len({seed.title for seed in SEED_MARKETS}) == len(SEED_MARKETS)
    for seed in SEED_MARKETS:
        criterion_validate(spec=seed.spec, statistic=seed.statistic, comparator=seed.comparator,
                           threshold=seed.threshold)


def test_seed_data_has_one_valid_numeric_market_per_concept():
    assert {seed.spec["concept"] for seed in NUMERIC_SEED_MARKETS} == set("ABCDEFGH") | {"g"}
    assert len({seed.title for seed in NUMERIC_SEED_MARKETS}) == len(NUMERIC_SEED_MARKETS)
    for seed in NUMERIC_SEED_MARKETS:
        criterion_validate(spec=seed.spec, statistic=seed.statistic, comparator=">=", threshold=0.0)
        assert seed.lo < seed.hi and 2 <= seed.n_bins <= 200


def test_seed_markets_is_idempotent_and_books_every_subsidy():
    call_command("seed_markets", stdout=StringIO())
    call_command("seed_markets", stdout=StringIO())
    total = len(SEED_MARKETS) + len(NUMERIC_SEED_MARKETS)
    assert Market.objects.count() == total
    assert Market.objects.filter(kind="numeric").count() == len(NUMERIC_SEED_MARKETS)
    assert LedgerEntry.objects.filter(kind="subsidy").count() == total
    assert authenticate(username="demo", password="demo-pass-2026") is not None
    admin = authenticate(username="admin", password="admin-pass-2026")
    assert admin is not None and admin.is_staff and admin.is_superuser
    out = StringIO()
    call_command("reconcile", stdout=out)
    assert out.getvalue().startswith("OK:")


def test_reconcile_exits_non_zero_with_a_report_on_a_tampered_ledger():
    call_command("seed_markets", "--no-users", stdout=StringIO())
    LedgerEntry.objects.filter(pk=LedgerEntry.objects.filter(kind="subsidy").first().pk).update(amount=1)
    err = StringIO()
    with pytest.raises(CommandError) as info:
        call_command("reconcile", stdout=StringIO(), stderr=err)
    assert info.value.returncode == 1
    assert "FAILED" in err.getvalue() and "ledger sums to" in err.getvalue()


def test_seed_specs_are_hashed_canonically():
    call_command("seed_markets", "--no-users", stdout=StringIO())
    market = Market.objects.order_by("pk").first()
    again = criterion_validate(spec=market.spec, statistic=market.statistic, comparator=market.comparator,
                               threshold=market.threshold)
    assert again["spec_sha256"] == market.spec_sha256


@pytest.mark.parametrize(
    "spec, field, words",
    [
        ({"concept": "A", "task": "digits", "arch": "mlp", "seeds": 1, "params": {}}, "spec.seeds", "[2, 256]"),
        ({"concept": "A", "task": "digits", "arch": "mlp", "seeds": 8, "params": {"lr": 50}}, "spec.params.lr",
         "[1e-05, 10]"),
        ({"concept": "A", "task": "digits", "arch": "mlp", "seeds": 8, "params": {"steps": 0}},
         "spec.params.steps", "[1, 100000]"),
        ({"concept": "A", "task": "lasso", "arch": "mlp", "seeds": 8, "params": {}}, "spec.task", "allowed: digits"),
        ({"concept": "A", "task": "digits", "arch": "mlp", "seeds": 8, "params": {"code": "import os"}},
         "spec.params.code", "unknown parameter"),
        ({"concept": "Z", "task": "digits"}, "spec.concept", "one of A, B"),
        ({"task": "digits"}, "spec.concept", "required"),
        ("not a spec", "spec", "JSON object"),
    ],
)
def test_invalid_specs_name_the_field_and_its_range(spec, field, words):
    """The experiments registry is authoritative; its errors are mapped onto criterion fields."""
    with pytest.raises(CriterionError) as info:
        criterion_validate(spec=spec, statistic="dis_ood", comparator=">=", threshold=0.1)
    assert info.value.field == field and words in info.value.message


@pytest.mark.parametrize("kwargs, field", [
    ({"statistic": "dis_id"}, "statistic"),
    ({"comparator": "=="}, "comparator"),
    ({"threshold": float("nan")}, "threshold"),
    ({"threshold": "0.1"}, "threshold"),
])
def test_invalid_criteria_are_refused(kwargs, field):
    base = {"spec": {"concept": "A", "task": "digits", "arch": "mlp", "seeds": 8, "params": {}},
            "statistic": "dis_ood", "comparator": ">=", "threshold": 0.1}
    with pytest.raises(CriterionError) as info:
        criterion_validate(**{**base, **kwargs})
    assert info.value.field == field
