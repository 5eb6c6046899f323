"""A run no longer knows its market: the link now lives in ``market.MarketRun`` (copied there by
``market.0005_marketrun``, which this migration waits for). The one-active-resolution-run rule is kept
by ``market.services.runs`` under the market's row lock."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('experiments', '0001_initial'),
        ('market', '0005_marketrun'),
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
        migrations.RemoveField(
            model_name='experimentrun',
            name='market',
        ),
    ]
