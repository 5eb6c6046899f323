"""Experiment runs: one row per execution of a frozen spec, plus one row per trained seed.

A run knows its spec, seeds and results, not who asked for it: a market links to its runs from its
own side (``market.MarketRun``), a proposal to its dry run. This app imports no other app of the
project (docs/architecture.md).
"""
from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class ExperimentRun(models.Model):
    """One execution of a pre-registered spec: QUEUED → RUNNING → SUCCEEDED / FAILED."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    class Purpose(models.TextChoices):
        RESOLUTION = "resolution", "Resolution"  # settles its market
        VERIFY = "verify", "Verification"  # same spec, fresh seeds; never settles anything
        DRY_RUN = "dry_run", "Dry run"  # a proposal's tiny-preset check

    TERMINAL = (Status.SUCCEEDED, Status.FAILED)

    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.RESOLUTION)
    verifies = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="verifications"
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    progress = models.FloatField(default=0.0)  # fraction of the work done, 0–1
    message = models.CharField(max_length=500, blank=True, default="")
    error = models.TextField(blank=True, default="")

    spec = models.JSONField()  # frozen, validated spec (experiments.registry.validate_spec)
    spec_sha256 = models.CharField(max_length=64, db_index=True)
    criterion = models.JSONField(default=dict, blank=True)  # {statistic, comparator, threshold, confidence}
    seeds = models.JSONField(default=list, blank=True)  # seeds planned so far (grows when seeds are added)
    seed_budget = models.PositiveIntegerField(default=0)  # most seeds the spec allows
    round = models.PositiveSmallIntegerField(default=0)  # extension rounds done (0 = initial seeds)

    statistic_name = models.CharField(max_length=64, blank=True, default="")
    statistic = models.FloatField(null=True, blank=True)
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    decision = models.CharField(max_length=16, blank=True, default="")  # yes / no / annul / "" (none)
    decision_reason = models.TextField(blank=True, default="")
    history = models.JSONField(default=list, blank=True)  # one entry per decision round
    # The run_experiment --json object (docs/experiments.md), as in result.json.
    result = models.JSONField(default=dict, blank=True)
    provenance = models.JSONField(default=dict, blank=True)
    artifacts = models.JSONField(default=dict, blank=True)  # name → path relative to MEDIA_ROOT
    settlement = models.JSONField(default=dict, blank=True)  # what the resolution listener reported

    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(progress__gte=0.0) & Q(progress__lte=1.0), name="run_progress_in_unit_interval"
            ),
        ]

    def __str__(self) -> str:
        return f"run {self.pk} ({self.purpose}, {self.status})"

    @property
    def is_terminal(self) -> bool:
        return self.status in self.TERMINAL

    @property
    def artifacts_dir(self):
        from pathlib import Path

        return Path(settings.PATHMARKET["ARTIFACTS_DIR"]) / str(self.pk)


class RunSeed(models.Model):
    """The trained result of one seed of a run; upserted by (run, seed) so re-delivery is harmless."""

    run = models.ForeignKey(ExperimentRun, on_delete=models.CASCADE, related_name="seed_rows")
    seed = models.IntegerField()
    behaviour = models.FloatField(null=True, blank=True)  # the task's behaviour scalar (docs/experiments.md)
    values = models.JSONField(default=dict, blank=True)  # the other scalar per-seed values
    # The seed's full outputs (arrays included) as the .npz bytes of protocols.base.save_outputs. Kept
    # in the database, not on a disk, so GPU workers on other machines need only PostgreSQL and Redis.
    outputs = models.BinaryField()
    device = models.CharField(max_length=32, blank=True, default="")
    worker = models.CharField(max_length=255, blank=True, default="")  # host that trained it
    wall_seconds = models.FloatField(default=0.0)  # this seed's share of its chunk's training time
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "seed"]
        constraints = [models.UniqueConstraint(fields=["run", "seed"], name="one_row_per_run_seed")]

    def __str__(self) -> str:
        return f"run {self.run_id} seed {self.seed}"


from experiments.survey.models import SurveyCampaign, SurveyCell, SurveyRow  # noqa: E402,F401  (registers them)
