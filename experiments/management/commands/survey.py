"""The path-dependence survey from the command line (docs/survey.md).

    python manage.py survey plan --rows 96 --seed 1 [--tasks digits,lms,sparse_parity] [--axis width=16:48]
    python manage.py survey run --design data/survey/designs/NAME.json [--inline] [--no-wait] [--concepts ABCG]
    python manage.py survey status [--design FILE]
    python manage.py survey export --design FILE [--out data/survey/NAME]
    python manage.py survey load [--file data/survey/survey-v1.csv]
    python manage.py survey verify --rows 3 [--file data/survey/survey-v1.csv] [--seed 0]

Bad input (an unknown axis, a bound outside the registry, ``--rows 0``, an edited design file) exits
with status 2 and a message naming the parameter.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from experiments.concepts import LETTERS
from experiments.params import SpecError

DATA_DIR = Path(settings.BASE_DIR) / "data" / "survey"


def _fail(exc: Exception) -> CommandError:
    field = getattr(exc, "field", None)
    return CommandError(f"{field}: {exc.message}" if field and hasattr(exc, "message") else str(exc), returncode=2)


class Command(BaseCommand):
    help = "Plan, run, inspect, export, load and verify path-dependence survey campaigns."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        plan = sub.add_parser("plan", help="draw a space-filling design and write its file")
        plan.add_argument("--rows", type=int, required=True)
        plan.add_argument("--seed", type=int, required=True)
        plan.add_argument("--tasks", default="digits,lms,sparse_parity")
        plan.add_argument("--preset", default="survey")
        plan.add_argument("--axis", action="append", default=[], help="[task.]name=low:high or name=a|b|c")
        plan.add_argument("--name", default=None)
        plan.add_argument("--out", default=None, help="design file (default data/survey/designs/NAME.json)")
        run = sub.add_parser("run", help="run a design's campaign on the Celery workers (or --inline)")
        run.add_argument("--design", required=True)
        run.add_argument("--inline", action="store_true", help="run the units in this process, no worker")
        run.add_argument("--no-wait", action="store_true", help="enqueue and return without a progress bar")
        run.add_argument("--concepts", default="".join(LETTERS))
        run.add_argument("--device", default="auto")
        run.add_argument("--timeout", type=float, default=0, help="stop waiting after this many seconds")
        status = sub.add_parser("status", help="where each campaign stands")
        status.add_argument("--design", default=None)
        status.add_argument("--json", action="store_true")
        export = sub.add_parser("export", help="write a campaign's dataset (CSV + provenance JSON)")
        export.add_argument("--design", required=True)
        export.add_argument("--out", default=None, help="path prefix (default data/survey/<campaign name>)")
        export.add_argument("--complete-only", action="store_true", help="only rows with all eight cells")
        load = sub.add_parser("load", help="load a shipped dataset so /factor/ shows it")
        load.add_argument("--file", default=None, help="CSV (default: the newest data/survey/*.csv)")
        verify = sub.add_parser("verify", help="re-run random rows of a dataset and compare")
        verify.add_argument("--rows", type=int, default=3)
        verify.add_argument("--file", default=None)
        verify.add_argument("--seed", type=int, default=0)
        verify.add_argument("--tolerance", type=float, default=None,
                            help="absolute tolerance across devices (default: exact on the same device, 0.05 across)")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            getattr(self, f"_{opts['action']}")(opts)
        except SpecError as exc:
            raise _fail(exc) from None

    # --- plan ---------------------------------------------------------------------------------------
    def _plan(self, opts: dict[str, Any]) -> None:
        from experiments.survey.design import plan, write_design

        tasks = [t.strip() for t in opts["tasks"].split(",") if t.strip()]
        design = plan(rows=opts["rows"], seed=opts["seed"], tasks=tasks, preset=opts["preset"], axes=opts["axis"],
                      name=opts["name"])
        path = Path(opts["out"]) if opts["out"] else DATA_DIR / "designs" / f"{design['name']}.json"
        write_design(design, path)
        counts = {t: sum(1 for r in design["rows"] if r["task"] == t) for t in design["tasks"]}
        self.stdout.write(f"wrote {path}\n  sha256 {design['sha256']}\n  rows {len(design['rows'])} "
                          f"({', '.join(f'{t} {n}' for t, n in counts.items())}), preset {design['preset']}")
        for task, letters in design.get("unsupported", {}).items():
            self.stderr.write(f"warning: concepts {''.join(letters)} do not run on {task} yet; their cells will fail")

    # --- run ----------------------------------------------------------------------------------------
    def _run(self, opts: dict[str, Any]) -> None:
        from experiments.survey.design import read_design
        from experiments.survey.services import (
            survey_campaign_create,
            survey_campaign_progress,
            survey_unit_run,
            survey_units_pending,
        )

        concepts = "".join(c for c in opts["concepts"].upper() if c.strip())
        bad = sorted(set(concepts) - set(LETTERS))
        if bad or not concepts:
            raise CommandError(f"--concepts: unknown {', '.join(bad) or '(none given)'}; allowed: "
                               f"{''.join(LETTERS)}", returncode=2)
        design = read_design(opts["design"])
        campaign = survey_campaign_create(design=design)
        units = survey_units_pending(campaign=campaign, concepts=concepts)
        self.stderr.write(f"campaign {campaign.name} ({campaign.design_sha256[:12]}): {len(units)} units to run")
        if opts["inline"]:
            from tqdm import tqdm

            for index, unit in tqdm(units, desc="survey units", file=sys.stderr, unit="unit"):
                try:
                    survey_unit_run(campaign_id=campaign.pk, row_index=index, unit=unit, device=opts["device"])
                except Exception as exc:  # noqa: BLE001 - recorded on the cells; the campaign goes on
                    self.stderr.write(f"row {index} unit {unit} failed: {exc!r}")
        else:
            from experiments.tasks import survey_unit_task

            for index, unit in units:
                survey_unit_task.delay(campaign.pk, index, unit)
            if not opts["no_wait"]:
                self._wait(campaign, timeout=opts["timeout"])
        self._print_progress(survey_campaign_progress(campaign=campaign))

    def _wait(self, campaign: Any, *, timeout: float) -> None:
        from tqdm import tqdm

        from experiments.survey.services import survey_campaign_progress

        progress = survey_campaign_progress(campaign=campaign)
        start = time.monotonic()
        with tqdm(total=progress["cells_total"], initial=progress["cells_done"] + progress["cells_failed"],
                  desc="survey cells", file=sys.stderr, unit="cell") as bar:
            while not progress["complete"]:
                if timeout and time.monotonic() - start > timeout:
                    self.stderr.write("stopped waiting (--timeout); the workers go on: see `survey status`")
                    return
                time.sleep(2)
                progress = survey_campaign_progress(campaign=campaign)
                bar.n = progress["cells_done"] + progress["cells_failed"]
                bar.set_postfix(rows=f"{progress['rows_done']}/{progress['rows_planned']}",
                                failed=progress["cells_failed"])
                bar.refresh()

    def _print_progress(self, p: dict[str, Any]) -> None:
        eta = f", about {p['eta_seconds'] / 60:.0f} min of compute left" if p["eta_seconds"] else ""
        self.stdout.write(f"{p['campaign']} [{p['source']}, preset {p['preset']}, {p['design_sha256'][:12]}]: rows "
                          f"{p['rows_done']}/{p['rows_planned']} complete; cells {p['cells_done']} done, "
                          f"{p['cells_failed']} failed, {p['cells_running']} running, {p['cells_pending']} left{eta}")

    # --- status -------------------------------------------------------------------------------------
    def _status(self, opts: dict[str, Any]) -> None:
        from experiments.survey.design import read_design
        from experiments.survey.models import SurveyCampaign
        from experiments.survey.services import survey_campaign_progress

        campaigns = SurveyCampaign.objects.all()
        if opts["design"]:
            campaigns = campaigns.filter(design_sha256=read_design(opts["design"])["sha256"])
        rows = [survey_campaign_progress(campaign=c) for c in campaigns]
        if opts["json"]:
            self.stdout.write(json.dumps(rows, indent=1))
            return
        if not rows:
            self.stdout.write("no survey campaigns yet: `survey plan`, then `survey run`")
        for p in rows:
            self._print_progress(p)

    # --- export / load / verify ---------------------------------------------------------------------
    def _export(self, opts: dict[str, Any]) -> None:
        from experiments.survey.dataset import export_campaign
        from experiments.survey.design import read_design
        from experiments.survey.models import SurveyCampaign

        design = read_design(opts["design"])
        campaign = SurveyCampaign.objects.filter(design_sha256=design["sha256"]).first()
        if campaign is None:
            raise CommandError("--design: no campaign has run this design here yet", returncode=2)
        prefix = Path(opts["out"]) if opts["out"] else DATA_DIR / campaign.name
        csv_path, prov_path, n = export_campaign(campaign, prefix, complete_only=opts["complete_only"])
        self.stdout.write(f"wrote {csv_path} ({n} rows) and {prov_path}")

    def _load(self, opts: dict[str, Any]) -> None:
        from experiments.survey.dataset import default_dataset, load_dataset

        path = Path(opts["file"]) if opts["file"] else default_dataset()
        if path is None:
            self.stdout.write("no shipped survey dataset under data/survey/")
            return
        campaign, created = load_dataset(path)
        verb = "loaded" if created else "already loaded"
        self.stdout.write(f"{verb} {path.name}: campaign {campaign.name}, {campaign.rows.count()} rows")

    def _verify(self, opts: dict[str, Any]) -> None:
        from experiments.survey.dataset import default_dataset, verify_dataset

        if opts["rows"] < 1:
            raise CommandError("--rows: must be at least 1", returncode=2)
        path = Path(opts["file"]) if opts["file"] else default_dataset()
        if path is None:
            raise CommandError("--file: no survey dataset found under data/survey/", returncode=2)
        report = verify_dataset(path, rows=opts["rows"], seed=opts["seed"], tolerance=opts["tolerance"],
                                log=lambda m: self.stderr.write(m))
        for line in report["lines"]:
            self.stdout.write(line)
        self.stdout.write(report["summary"])
        if not report["ok"]:
            raise CommandError("verification failed", returncode=1)
