"""The resolution app's listeners of ``experiments.signals.run_status_changed`` and ``survey_unit_finished``
(connected in ``ready``)."""
from __future__ import annotations

from django.dispatch import receiver

from experiments.models import ExperimentRun
from experiments.signals import run_status_changed, survey_unit_finished
from resolution.campaigns import campaign_unit_finished
from resolution.services import market_settle_from_run


@receiver(run_status_changed, dispatch_uid="resolution.market_follows_run")
def market_follows_run(sender, *, run: ExperimentRun, **kwargs) -> None:
    """Mirror a resolution run on its market and settle the market once the run has decided; the report
    is stored on the run (``settlement``) when the run is finished. Runs of no market are ignored."""
    report = market_settle_from_run(run_id=run.pk)
    if run.is_terminal and report.get("action") != "ignored":
        ExperimentRun.objects.filter(pk=run.pk).update(settlement=report)


@receiver(survey_unit_finished, dispatch_uid="resolution.factor_market_follows_campaign")
def factor_market_follows_campaign(sender, *, campaign_id: int, **kwargs) -> None:
    """A survey unit finished: a factor market on that campaign shows RUNNING, and is decided once the
    last unit of its stage has finished (resolution/campaigns.py). Campaigns of no market are ignored."""
    campaign_unit_finished(campaign_id=campaign_id)
