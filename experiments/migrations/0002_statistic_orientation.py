"""E and G statistics follow the essay's orientation (higher = more path-dependent).

Runs that computed ``one_minus_auroc_25`` / ``one_minus_cka`` store ``1 − value`` under the new names
``auroc_25`` / ``cka_early_final``: the statistic becomes ``1 − s``, the CI ``[1 − high, 1 − low]``,
and the stored criterion is rewritten as the market's (``1 − x <cmp> t`` ⇔ ``x <flipped> 1 − t``), so
every decision already taken reads the same. Reversible.
"""
from django.db import migrations

RENAMED = {"one_minus_auroc_25": "auroc_25", "one_minus_cka": "cka_early_final"}
FLIP = {">=": "<=", ">": "<", "<=": ">=", "<": ">"}


def _flip(value):
    return None if value is None else 1.0 - value


def _rewrite(apps, mapping):
    run_model = apps.get_model("experiments", "ExperimentRun")
    for run in run_model.objects.all().iterator():
        changed = []
        if run.statistic_name in mapping:
            run.statistic_name = mapping[run.statistic_name]
            run.statistic = _flip(run.statistic)
            run.ci_low, run.ci_high = _flip(run.ci_high), _flip(run.ci_low)
            changed += ["statistic_name", "statistic", "ci_low", "ci_high"]
        criterion = dict(run.criterion or {})
        if criterion.get("statistic") in mapping:
            criterion["statistic"] = mapping[criterion["statistic"]]
            if criterion.get("comparator") in FLIP:
                criterion["comparator"] = FLIP[criterion["comparator"]]
            if isinstance(criterion.get("threshold"), int | float):
                criterion["threshold"] = round(1.0 - criterion["threshold"], 12)
            run.criterion = criterion
            changed.append("criterion")
        if changed:
            run.save(update_fields=changed)


def forward(apps, schema_editor):
    _rewrite(apps, RENAMED)


def backward(apps, schema_editor):
    _rewrite(apps, {new: old for old, new in RENAMED.items()})


class Migration(migrations.Migration):
    dependencies = [("experiments", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
