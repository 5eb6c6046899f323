"""Proposals move to their own app (``proposals.0001_initial``): the model leaves the market app's state;
its table ``market_proposal`` and every row stay where they are (no SQL runs)."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('market', '0007_marketrun'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='Proposal')],
            database_operations=[],
        ),
    ]
