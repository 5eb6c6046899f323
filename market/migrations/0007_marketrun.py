"""The link from a market to its runs moves to the market's side (experiments imports no other app).

Creates ``MarketRun`` and copies every ``experiments_experimentrun.market_id`` into it; the column is
dropped afterwards by ``experiments.0005_run_forgets_market``. Reversible: going back,
``experiments.0005`` copies the links into the column again before its constraints return.
"""
import django.db.models.deletion
from django.db import migrations, models


def copy_links_from_runs(apps, schema_editor):
    ExperimentRun = apps.get_model("experiments", "ExperimentRun")
    MarketRun = apps.get_model("market", "MarketRun")
    rows = list(ExperimentRun.objects.filter(market__isnull=False).values_list("pk", "market_id", "created_at"))
    MarketRun.objects.bulk_create(
        [MarketRun(run_id=pk, market_id=market_id) for pk, market_id, _ in rows], batch_size=1000
    )
    # auto_now_add stamped "now": keep the run's own creation time instead.
    for pk, _, created_at in rows:
        MarketRun.objects.filter(run_id=pk).update(created_at=created_at)


class Migration(migrations.Migration):

    dependencies = [
        ('experiments', '0003_survey'),
        ('market', '0006_numeric_markets'),
    ]

    operations = [
        migrations.CreateModel(
            name='MarketRun',
            fields=[
                ('run', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='market_link', serialize=False, to='experiments.experimentrun')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('market', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='run_links', to='market.market')),
            ],
            options={
                'ordering': ['market', 'run'],
            },
        ),
        migrations.RunPython(copy_links_from_runs, migrations.RunPython.noop)  # back: experiments.0005,
    ]
