"""Storage of survey campaigns: a campaign runs one design; a row is one setting; a cell one concept.

Cells are keyed by ``(row, concept)`` and written by upsert, so a unit that runs twice (a redelivered
Celery task, a restarted campaign) leaves one cell; a finished cell is never recomputed. Imported by
``experiments.models`` so that Django registers these models under the ``experiments`` app.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from experiments.concepts import LETTERS


class SurveyCampaign(models.Model):
    """One design being (or having been) run: its rows, its preset and where its numbers came from."""

    class Source(models.TextChoices):
        RUN = "run", "run here"  # rows computed by `survey run` on this installation
        SHIPPED = "shipped", "shipped dataset"  # loaded from data/survey by `survey load`

    name = models.CharField(max_length=120)
    design = models.JSONField()  # the design file's content (experiments/survey/design.py)
    design_sha256 = models.CharField(max_length=64, unique=True)
    preset = models.CharField(max_length=16)
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.RUN)
    provenance = models.JSONField(default=dict, blank=True)  # commit, torch version, device, dataset file
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.CheckConstraint(condition=Q(source__in=["run", "shipped"]),
                                              name="survey_campaign_source_valid")]

    def __str__(self) -> str:
        return f"{self.name} ({self.design_sha256[:12]})"


class SurveyRow(models.Model):
    """One setting of a campaign, with the training-progress covariates of its base ensemble."""

    campaign = models.ForeignKey(SurveyCampaign, on_delete=models.CASCADE, related_name="rows")
    index = models.PositiveIntegerField()  # the design's row number
    task = models.CharField(max_length=40)
    arch = models.CharField(max_length=40)
    params = models.JSONField()  # the drawn task parameters (the preset fills the rest)
    setup = models.CharField(max_length=200, blank=True, default="")  # setting key (row.setting_key); "" = not yet
    covariates = models.JSONField(null=True, blank=True)  # {final_train_loss, test_accuracy, steps_to_target}

    class Meta:
        ordering = ["campaign", "index"]
        constraints = [models.UniqueConstraint(fields=["campaign", "index"], name="survey_row_unique_index")]

    def __str__(self) -> str:
        return f"{self.campaign.name} row {self.index} ({self.task})"

    def setting_key(self) -> str:
        """The factor-matrix row key of this setting, computed once and stored."""
        if not self.setup:
            from experiments.survey.row import concept_spec, setting_key

            self.setup = setting_key(concept_spec("A", self.task, self.arch, self.params, preset=self.campaign.preset))
            SurveyRow.objects.filter(pk=self.pk).update(setup=self.setup)
        return self.setup


class SurveyCell(models.Model):
    """Concept ``concept`` measured on one row's setting."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    row = models.ForeignKey(SurveyRow, on_delete=models.CASCADE, related_name="cells")
    concept = models.CharField(max_length=1)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING, db_index=True)
    statistic = models.FloatField(null=True, blank=True)  # oriented: higher = more path-dependent
    ci_low = models.FloatField(null=True, blank=True)
    ci_high = models.FloatField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)
    spec = models.JSONField(default=dict, blank=True)  # the normalized registry spec of this cell
    spec_sha256 = models.CharField(max_length=64, blank=True, default="")
    seeds = models.JSONField(default=list, blank=True)
    wall_seconds = models.FloatField(null=True, blank=True)
    device = models.CharField(max_length=32, blank=True, default="")
    torch_version = models.CharField(max_length=40, blank=True, default="")
    code_version = models.CharField(max_length=64, blank=True, default="")
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["row", "concept"]
        constraints = [
            models.UniqueConstraint(fields=["row", "concept"], name="survey_cell_one_per_row_concept"),
            models.CheckConstraint(condition=Q(concept__in=list(LETTERS)), name="survey_cell_concept_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.row} · {self.concept} = {self.statistic}"
