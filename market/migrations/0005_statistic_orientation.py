"""E and G statistics follow the essay's orientation (higher = more path-dependent).

``one_minus_auroc_25`` became ``auroc_25`` and ``one_minus_cka`` became ``cka_early_final``; the old
value was ``1 − new``. Every market and proposal on an old name is rewritten so that it asks the same
question: ``1 − x <cmp> t`` ⇔ ``x <flipped cmp> 1 − t`` (see experiments.concepts.migrate_criterion;
the rule is copied here so that the migration never changes with the code). Reversible.
"""
from django.db import migrations, models

RENAMED = {"one_minus_auroc_25": "auroc_25", "one_minus_cka": "cka_early_final"}
FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}


def _rewrite(apps, mapping):
    for model_name in ("Market", "Proposal"):
        model = apps.get_model("market", model_name)
        for row in model.objects.filter(statistic__in=list(mapping)):
            row.statistic = mapping[row.statistic]
            row.comparator = FLIP[row.comparator]
            row.threshold = round(1.0 - row.threshold, 12)
            row.save(update_fields=["statistic", "comparator", "threshold"])


def forward(apps, schema_editor):
    _rewrite(apps, RENAMED)


def backward(apps, schema_editor):
    _rewrite(apps, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [("market", "0004_ledger_reversal")]
    operations = [
        migrations.RunPython(forward, backward),
        migrations.AlterField(
            model_name='market',
            name='concept',
            field=models.CharField(choices=[('A', 'A. Variance across runs'), ('B', 'B. Sensitivity to small changes'), ('C', 'C. Distinct clusters'), ('D', 'D. Stability of clusters'), ('E', 'E. Predictive power of the mid-training model'), ('F', 'F. Sensitivity to early interventions'), ('G', 'G. Survival of circuits'), ('H', 'H. Closed-form inductive bias')], db_index=True, max_length=1),
        ),
        migrations.AlterField(
            model_name='proposal',
            name='concept',
            field=models.CharField(choices=[('A', 'A. Variance across runs'), ('B', 'B. Sensitivity to small changes'), ('C', 'C. Distinct clusters'), ('D', 'D. Stability of clusters'), ('E', 'E. Predictive power of the mid-training model'), ('F', 'F. Sensitivity to early interventions'), ('G', 'G. Survival of circuits'), ('H', 'H. Closed-form inductive bias')], max_length=1),
        ),
    ]
