"""Factories for market tests. Markets are created through ``market_open`` so the subsidy is booked."""
from __future__ import annotations

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.utils import timezone

from market.services import account_open, market_open


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"trader{n}")
    password = factory.django.Password("pw-test-2026")

    @factory.post_generation
    def account(obj, create, extracted, **kwargs):  # noqa: N805 - factory_boy passes the object first
        if create:
            account_open(user=obj)


def spec_for(concept: str = "A", **overrides) -> dict:
    base = {"concept": concept, "task": "digits", "arch": "mlp", "seeds": 8, "params": {"noise": 0.3}}
    if concept == "B":
        base["params"] = {"noise": 0.3, "change": "one_ulp"}
    return {**base, **overrides}


STATISTICS = {"A": "dis_ood", "B": "dis_ratio", "C": "minority_fraction", "D": "snap_fraction",
              "E": "auroc_25", "F": "early_late_effect", "G": "cka_early_final", "H": "hit_rate_gap"}


class MarketFactory(factory.Factory):
    class Meta:
        model = dict  # built through the service below

    title = factory.Sequence(lambda n: f"Test market {n}")
    concept = "A"
    question = "Do seeds disagree off-distribution?"
    spec = factory.LazyAttribute(lambda o: spec_for(o.concept))
    statistic = factory.LazyAttribute(lambda o: STATISTICS[o.concept])
    comparator = ">="
    threshold = 0.03
    close_time = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    liquidity = 100.0

    @classmethod
    def _create(cls, model_class, **kwargs):
        return market_open(**kwargs)


class NumericMarketFactory(factory.Factory):
    """A numeric market on concept A's statistic over [0, 0.1] in 10 bins, both ends open."""

    class Meta:
        model = dict

    title = factory.Sequence(lambda n: f"Numeric market {n}")
    concept = "A"
    question = "How often do seeds disagree off-distribution?"
    spec = factory.LazyAttribute(lambda o: spec_for(o.concept))
    statistic = factory.LazyAttribute(lambda o: STATISTICS[o.concept])
    range_lo = 0.0
    range_hi = 0.1
    n_bins = 10
    open_lower = True
    open_upper = True
    close_time = factory.LazyFunction(lambda: timezone.now() + timedelta(days=7))
    liquidity = 100.0

    @classmethod
    def _create(cls, model_class, **kwargs):
        from market.services import market_open_numeric

        return market_open_numeric(**kwargs)
