"""Every market against its evidence: the nearest survey rows and resolved runs, and which look foregone.

``python manage.py evidence_review [--status open] [--foregone] [--json]`` prints one line per market
(docs/evidence.md, "Foregone conclusions"); the raw panels come with ``--json``.
"""
from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from experiments.evidence.selectors import criterion_evidence
from market.models import Market, MarketStatus


class Command(BaseCommand):
    help = "Review markets against the survey evidence near their settings (foregone-conclusion check)."

    def add_arguments(self, parser) -> None:  # noqa: ANN001
        parser.add_argument("--status", choices=MarketStatus.values, help="only markets with this status")
        parser.add_argument("--foregone", action="store_true", help="only markets that look foregone")
        parser.add_argument("--json", action="store_true", help="print the panels as one JSON list")

    def handle(self, *args, **options) -> None:
        markets = Market.objects.order_by("concept", "pk")
        if options["status"]:
            markets = markets.filter(status=options["status"])
        out = []
        for market in markets:
            evidence = criterion_evidence(market)
            if options["foregone"] and not evidence["warning"]:
                continue
            out.append({"market_id": market.pk, "title": market.title, **evidence})
        if options["json"]:
            self.stdout.write(json.dumps(out, indent=1, default=str))
            return
        for e in out:
            s = e["summary"]
            numeric = e["threshold"] is None
            criterion = (f"{e['statistic']} (numeric)" if numeric
                         else f"{e['statistic']} {e['comparator']} {e['threshold']:g}")
            if s is None:
                seen = e["message"]
            else:
                seen = (f"n={s['n']} yes={s['share_yes']:.0%} range {s['minimum']:.4g}–{s['maximum']:.4g} "
                        f"median {s['median']:.4g}")
            flag = f"  FOREGONE ({e['warning']['code']})" if e["warning"] else ""
            self.stdout.write(f"#{e['market_id']} {e['title']} | {criterion} | {seen}{flag}")
