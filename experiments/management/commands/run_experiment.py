"""``python manage.py run_experiment CONCEPT TASK [...]`` — the command line of docs/experiments.md."""
from __future__ import annotations

import json
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from experiments.params import SpecError


def parse_sets(items: list[str]) -> dict[str, str]:
    """``["steps=100", "lr=1e-3"]`` → ``{"steps": "100", "lr": "1e-3"}`` (types checked later)."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError("params", f"--set expects KEY=VALUE, got {item!r}")
        out[key.strip()] = value.strip()
    return out


class Command(BaseCommand):
    help = "Run one path-dependence experiment (concept A–H on a task) and print or save its result."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("concept", help="concept letter A–H")
        parser.add_argument("task",
                            help="task name, e.g. digits, modadd, lms, gotu, sparse_parity, two_pathway")
        parser.add_argument("--arch", default=None, help="architecture (default: the task's first)")
        parser.add_argument("--seeds", default=None, help="number of seeds (1–256)")
        parser.add_argument("--seed-offset", dest="seed_offset", default=None, help="first seed (default 0)")
        parser.add_argument("--preset", default="default", help="tiny or default")
        parser.add_argument("--set", dest="sets", action="append", default=[], metavar="KEY=VALUE",
                            help="override a parameter (repeatable)")
        parser.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda"))
        parser.add_argument("--out", default=None, help="directory for result.json, per_seed.csv and plots")
        parser.add_argument("--json", action="store_true", help="print one JSON object to stdout")
        parser.add_argument("--no-progress", action="store_true", help="hide the progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        from tqdm import tqdm

        from experiments.registry import run_spec, validate_spec

        spec: dict[str, Any] = {"concept": opts["concept"], "task": opts["task"], "preset": opts["preset"]}
        if opts["arch"]:
            spec["arch"] = opts["arch"]
        if opts["seeds"] is not None:
            spec["seeds"] = opts["seeds"]
        if opts["seed_offset"] is not None:
            spec["seed_offset"] = opts["seed_offset"]
        try:
            spec["params"] = parse_sets(opts["sets"])
            spec = validate_spec(spec)
        except SpecError as exc:
            raise CommandError(f"invalid spec: {exc}", returncode=2) from exc
        if opts["device"] == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise CommandError("--device cuda: CUDA is not available on this machine", returncode=2)
        bar = tqdm(total=1000, file=sys.stderr, disable=opts["no_progress"],
                   desc=f"{spec['concept']}/{spec['task']}",
                   bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}] {postfix}")

        def progress(fraction: float, message: str) -> None:
            bar.update(max(0, int(round(fraction * 1000)) - bar.n))
            bar.set_postfix_str(message, refresh=False)

        try:
            payload = run_spec(spec, device=opts["device"], progress=progress, out_dir=opts["out"])
        finally:
            bar.close()
        if opts["json"]:
            self.stdout.write(json.dumps(payload, sort_keys=True, allow_nan=False))
            return
        self.stdout.write(
            f"{payload['concept']}/{payload['task']}/{payload['arch']}: "
            f"{payload['details'].get('statistic_name', 'statistic')} = {payload['statistic']:.4f}  "
            f"CI [{payload['ci_low']:.4f}, {payload['ci_high']:.4f}]  "
            f"({len(payload['per_seed'])} seeds, {payload['provenance']['wall_seconds']:.1f}s on "
            f"{payload['provenance']['device']})")
        if opts["out"]:
            self.stdout.write(f"artifacts written to {opts['out']}")
