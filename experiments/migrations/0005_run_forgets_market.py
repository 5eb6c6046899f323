"""A run no longer knows its market: the link now lives in ``market.MarketRun`` (copied there by
``market.0007_marketrun``, which this migration waits for). The one-active-resolution-run rule is kept
by ``market.services.runs`` under the market's row lock."""
from django.db import migrations


def copy_links_back(apps, schema_editor):
    """Going back: each run gets its market id from ``market.MarketRun`` before the constraints return."""
    ExperimentRun = apps.get_model("experiments", "ExperimentRun")
    MarketRun = apps.get_model("market", "MarketRun")
    for run_id, market_id in MarketRun.objects.values_list("run_id", "market_id"):
        ExperimentRun.objects.filter(pk=run_id).update(market_id=market_id)


class Migration(migrations.Migration):

    dependencies = [
        ('experiments', '0004_surveyrow_setup'),
        ('market', '0007_marketrun'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='experimentrun',
            name='run_without_market_is_dry_run',
        ),
        migrations.RemoveConstraint(
            model_name='experimentrun',
            name='one_active_resolution_run_per_market',
        ),
        migrations.RunPython(migrations.RunPython.noop, copy_links_back),
        migrations.RemoveField(
            model_name='experimentrun',
            name='market',
        ),
    ]
