"""Create the house account, the demo and admin users and the seed markets (idempotent).

The demo credentials are for a local demo only; never run this against a public deployment.
"""
from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from experiments.concepts import FACTOR
from market.models import Market
from market.seed_data import NUMERIC_SEED_MARKETS, SEED_MARKETS
from market.services import account_open, house_account, market_open, market_open_numeric
from market.specs import CriterionError

DEMO_USERS = (
    # (username, password, staff) — local demo only
    ("demo", "demo-pass-2026", False),
    ("admin", "admin-pass-2026", True),
)


class Command(BaseCommand):
    help = "Seed the A–H and factor markets, the house account and the local demo users (idempotent)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--no-users", action="store_true", help="do not create the demo and admin users")

    def handle(self, *args, **options) -> None:
        house_account()
        if not options["no_users"]:
            self._users()
        created, skipped = 0, 0
        now = timezone.now()
        existing = set(Market.objects.values_list("title", flat=True))
        for seed in SEED_MARKETS:
            if seed.title in existing:
                continue
            try:
                with transaction.atomic():
                    market_open(
                        title=seed.title, concept=seed.spec.get("concept", FACTOR), question=seed.question, spec=seed.spec,
                        statistic=seed.statistic, comparator=seed.comparator, threshold=seed.threshold,
                        close_time=now + seed.close_in, liquidity=seed.liquidity, confidence=seed.confidence,
                    )
            except CriterionError as exc:  # e.g. the experiments registry does not offer this spec (yet)
                skipped += 1
                self.stderr.write(f"seed_markets: skipped {seed.title!r}: {exc.field}: {exc.message}")
                continue
            created += 1
        for seed in NUMERIC_SEED_MARKETS:
            if seed.title in existing:
                continue
            try:
                with transaction.atomic():
                    market_open_numeric(
                        title=seed.title, concept=seed.spec["concept"], question=seed.question, spec=seed.spec,
                        statistic=seed.statistic, range_lo=seed.lo, range_hi=seed.hi, n_bins=seed.n_bins,
                        open_lower=seed.open_lower, open_upper=seed.open_upper, close_time=now + seed.close_in,
                        liquidity=seed.liquidity,
                    )
            except CriterionError as exc:
                skipped += 1
                self.stderr.write(f"seed_markets: skipped {seed.title!r}: {exc.field}: {exc.message}")
                continue
            created += 1
        present = len(SEED_MARKETS) + len(NUMERIC_SEED_MARKETS) - created - skipped
        self.stdout.write(f"seed_markets: {created} market(s) created, {present} already present, {skipped} skipped.")

    def _users(self) -> None:
        User = get_user_model()  # noqa: N806
        for username, password, staff in DEMO_USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                if staff:
                    user = User.objects.create_superuser(username=username, password=password, email="")
                else:
                    user = User.objects.create_user(username=username, password=password)
                self.stdout.write(f"seed_markets: created user {username!r} (local demo only).")
            account_open(user=user)
