"""Run the experiments suite and record each concept statistic as a cell of the general-factor matrix.

    python manage.py populate_factor [--preset tiny|default] [--concepts ABC...] [--tasks digits,modadd]
                                     [--archs mlp,...] [--seeds N] [--device auto|cpu|cuda] [--list]

Superseded by ``manage.py survey`` (docs/survey.md), which measures all eight concepts on the *same*
trained setting. This command runs each concept at its own preset, so its cells land in the rows of
the settings they actually trained (the same ``task/arch/k=v,…`` key as resolved markets and survey
rows use), usually one concept per row. A setup that fails is reported and skipped; the suite always runs to the end, and the command
exits with status 1 if any setup failed.
"""
from __future__ import annotations

import math
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from evaluator.factor import CONCEPTS
from evaluator.models import FactorSource
from evaluator.services import factor_record


def setup_key(spec: dict[str, Any]) -> str:
    """The matrix row key of a spec's trained setting (shared with markets and the survey)."""
    from experiments.registry import validate_spec
    from experiments.survey.row import setting_key

    return setting_key(validate_spec(spec))


class Command(BaseCommand):
    help = "Run the experiments suite (tiny or default preset) and fill the general-factor matrix."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--preset", choices=["tiny", "default"], default="tiny")
        parser.add_argument("--concepts", default="".join(CONCEPTS),
                            help="concept letters to run, e.g. ABC (default: all of A–H)")
        parser.add_argument("--tasks", default="", help="comma-separated task names (default: every task of each concept)")
        parser.add_argument("--archs", default="",
                            help="comma-separated architectures (default: each task's first architecture)")
        parser.add_argument("--seeds", type=int, default=None, help="seeds per run (default: the preset's)")
        parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
        parser.add_argument("--list", action="store_true", help="print the planned setups and exit")

    def _plan(self, opts: dict[str, Any]) -> list[dict[str, Any]]:
        from experiments.mltasks import get_task
        from experiments.registry import PROTOCOLS, get_protocol

        concepts = [c for c in opts["concepts"].upper() if c.strip()]
        bad = sorted(set(concepts) - set(CONCEPTS))
        if bad:
            raise CommandError(f"unknown concept(s) {', '.join(bad)}; use letters from A–H.")
        tasks = {t.strip() for t in opts["tasks"].split(",") if t.strip()}
        archs = {a.strip() for a in opts["archs"].split(",") if a.strip()}
        all_tasks = {t for protocol in PROTOCOLS.values() for t in protocol.tasks}
        unknown = sorted(tasks - all_tasks)
        if unknown:
            raise CommandError(f"unknown task(s) {', '.join(unknown)}; known: {', '.join(sorted(all_tasks))}.")
        plan = []
        for concept in concepts:
            if concept not in PROTOCOLS:
                self.stderr.write(f"concept {concept}: no protocol registered yet, skipped")
                continue
            for task in get_protocol(concept).tasks:
                if tasks and task not in tasks:
                    continue
                task_archs = get_task(task).archs
                for arch in task_archs if archs else task_archs[:1]:
                    if archs and arch not in archs:
                        continue
                    spec = {"concept": concept, "task": task, "arch": arch, "preset": opts["preset"], "params": {}}
                    if opts["seeds"] is not None:
                        spec["seeds"] = opts["seeds"]
                    plan.append(spec)
        return plan

    def handle(self, *args: Any, **opts: Any) -> None:
        from experiments.registry import run_spec

        plan = self._plan(opts)
        if not plan:
            raise CommandError("nothing to run: no (concept, task, arch) matches the filters.")
        if opts["list"]:
            for spec in plan:
                self.stdout.write(f"{spec['concept']}  {setup_key(spec)}")
            return
        self.stderr.write("note: `manage.py survey` measures all eight concepts on the same setting; "
                          "this command runs each concept at its own preset (one cell per row)")
        failures = []
        for i, spec in enumerate(plan, 1):
            try:
                key = setup_key(spec)
            except Exception:  # noqa: BLE001 - an invalid spec is reported below like any failure
                key = f"{spec['task']}/{spec['arch']}/{spec['preset']}"
            label = f"[{i}/{len(plan)}] {spec['concept']} {key}"
            start = time.perf_counter()
            try:
                result = run_spec(spec, device=opts["device"])
                statistic = result.get("statistic")
                if statistic is None or not math.isfinite(float(statistic)):
                    raise ValueError(f"the statistic is not a finite number ({statistic!r})")
                factor_record(setup=key, task=spec["task"], arch=spec["arch"], concept=spec["concept"],
                              statistic=float(statistic), run_id=None, source=FactorSource.SUITE)
            except Exception as exc:  # noqa: BLE001 - one failing setup must not stop the suite
                failures.append((label, exc))
                self.stderr.write(self.style.ERROR(f"{label}: FAILED: {type(exc).__name__}: {exc}"))
                continue
            ci = (result.get("ci_low"), result.get("ci_high"))
            ci_text = f" [{ci[0]:.4g}, {ci[1]:.4g}]" if None not in ci else ""
            self.stdout.write(f"{label}: statistic {float(statistic):.4g}{ci_text} "
                              f"({time.perf_counter() - start:.1f} s)")
        done = len(plan) - len(failures)
        self.stdout.write(self.style.SUCCESS(f"recorded {done} of {len(plan)} setups") if done else
                          f"recorded 0 of {len(plan)} setups")
        if failures:
            raise CommandError(f"{len(failures)} of {len(plan)} setups failed: "
                               + "; ".join(label for label, _ in failures), returncode=1)
