"""Factor cells of concepts E and G follow the essay's orientation (higher = more path-dependent).

They held ``1 − AUROC`` and ``1 − CKA``; they now hold ``auroc_25`` and ``cka_early_final``, so the
stored value becomes ``1 − value``. The transform is its own inverse, so the migration is reversible.
"""
from django.db import migrations
from django.db.models import F, Value


def flip(apps, schema_editor):
    cell = apps.get_model("evaluator", "FactorCell")
    cell.objects.filter(concept__in=["E", "G"]).update(statistic=Value(1.0) - F("statistic"))


class Migration(migrations.Migration):
    dependencies = [("evaluator", "0001_initial")]
    operations = [migrations.RunPython(flip, flip)]
