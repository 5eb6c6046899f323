"""Prove that balances equal ledger sums, the ledger nets to zero and every maker stays within b·ln 2."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from market.reconcile import ledger_reconcile


class Command(BaseCommand):
    help = "Check the books; exits non-zero with a report of every problem found."

    def handle(self, *args, **options) -> None:
        report = ledger_reconcile()
        if not report.ok:
            self.stderr.write(report.summary())
            raise CommandError(f"reconcile failed with {len(report.problems)} problem(s)", returncode=1)
        self.stdout.write(report.summary())
